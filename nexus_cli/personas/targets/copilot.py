"""GitHub Copilot (VS Code): path-scoped instructions and prompt files.

* ``.github/instructions/<persona>.instructions.md`` with ``description`` and ``applyTo`` only
  where the persona names its files (``globs``; ``**`` for ``always: true``): without it the
  agent loads the instructions on demand, by their description, not in every request;
* ``.github/prompts/<persona>-<command>.prompt.md`` with ``description``, ``agent`` (``agent``
  for commands that edit files or run tools, ``ask`` for read-only ones) and ``argument-hint``;
  ``$ARGUMENTS`` becomes the prompt input variable ``${input:args}``.

Project only: user-level prompt files live in the VS Code profile, not in a fixed folder.

Copilot reads Agent Skills from ``.claude/skills`` and ``.agents/skills`` as well as
``.github/skills``, so the ``claude`` and ``agents`` targets' skills serve it too.

Docs (read 2026-12-06): https://code.visualstudio.com/docs/copilot/customization/custom-instructions,
https://code.visualstudio.com/docs/agents/reference/agent-skills-reference,
https://code.visualstudio.com/docs/copilot/customization/prompt-files
"""

from __future__ import annotations

from nexus_cli.personas.plan import Desired
from nexus_cli.personas.targets.base import (
    Capabilities,
    Command,
    Context,
    frontmatter,
    instructions,
    text_file,
    yaml_str,
)

NAME = "copilot"


def capabilities(is_global: bool) -> Capabilities:
    return Capabilities(on_demand=True, commands=True)


def prompt_name(ctx: Context, command: str) -> str:
    return f"{ctx.name}-{command}"


def invocations(ctx: Context) -> dict[str, str]:
    return {c.name: f"/{prompt_name(ctx, c.name)}" for c in ctx.commands}


def instructions_file(ctx: Context) -> str:
    """``description`` always; ``applyTo`` only where the persona names its files (``globs``),
    or ``**`` when it says ``always: true``. Without ``applyTo`` the agent loads the file on
    demand, by its description, instead of in every request."""
    pairs = [("description", yaml_str(ctx.summary))]
    apply_to = ",".join(ctx.persona.globs) or ("**" if ctx.persona.always else "")
    if apply_to:
        pairs.append(("applyTo", yaml_str(apply_to)))
    return frontmatter(pairs) + "\n" + instructions(ctx, invocations(ctx))


def prompt(command: Command) -> str:
    pairs = [
        ("description", yaml_str(command.description)),
        ("agent", "agent" if command.writes else "ask"),
    ]
    if command.argument_hint:
        pairs.append(("argument-hint", yaml_str(command.argument_hint)))
    return frontmatter(pairs) + "\n" + command.body.replace("$ARGUMENTS", "${input:args}")


def emit(ctx: Context, want: Desired) -> None:
    want.files[f".github/instructions/{ctx.name}.instructions.md"] = text_file(
        instructions_file(ctx)
    )
    for command in ctx.commands:
        path = f".github/prompts/{prompt_name(ctx, command.name)}.prompt.md"
        want.files[path] = text_file(prompt(command))
