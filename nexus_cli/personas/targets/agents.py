"""AGENTS.md (Codex and every assistant that reads it): always-on instructions, written once.

* project: the instructions inline in a managed block in ``AGENTS.md``; Codex has no
  project-level prompts, so no command is written and the text names none;
* ``--global``: the block in ``~/.codex/AGENTS.md`` and each command as a Codex custom prompt
  in ``~/.codex/prompts/<persona>-<command>.md`` (``description``, ``argument-hint``), which
  Codex lists in its own ``/`` menu. The shared text still names no command: Claude Code imports
  it too when both targets are installed, and ``/prompts:...`` means nothing there.

Docs: https://agents.md, https://developers.openai.com/codex/guides/agents-md,
https://developers.openai.com/codex/custom-prompts
"""

from __future__ import annotations

from nexus_cli.personas.plan import Desired
from nexus_cli.personas.targets.base import (
    Capabilities,
    Context,
    frontmatter,
    instructions,
    text_file,
    yaml_str,
)

NAME = "agents"


def capabilities(is_global: bool) -> Capabilities:
    return Capabilities(always_on=True, commands=is_global)


def invocations(ctx: Context) -> dict[str, str]:
    """Commands the AGENTS.md text may name: none (see the module docstring)."""
    return {}


def prompt_name(ctx: Context, command: str) -> str:
    return f"{ctx.name}-{command}"


def emit(ctx: Context, want: Desired) -> None:
    rel = ".codex/AGENTS.md" if ctx.is_global else "AGENTS.md"
    want.blocks[rel] = f"<!-- {ctx.tag} -->\n{instructions(ctx, invocations(ctx))}"
    if not ctx.is_global:
        return
    for command in ctx.commands:
        pairs = [("description", yaml_str(command.description))]
        if command.argument_hint:
            pairs.append(("argument-hint", yaml_str(command.argument_hint)))
        path = f".codex/prompts/{prompt_name(ctx, command.name)}.md"
        want.files[path] = text_file(frontmatter(pairs) + "\n" + command.body)
