"""Cursor: an agent-requested rule and real commands.

* ``.cursor/rules/<persona>.mdc`` with ``description`` (precise, so the agent can decide to load
  it), ``globs`` (the persona's, if any) and ``alwaysApply: false`` - ``true`` only when the
  persona says ``always: true``;
* ``.cursor/commands/<persona>-<command>.md`` - plain Markdown, run with ``/<persona>-<command>``.

Project only: Cursor keeps user rules in its settings, not in files.

Docs: https://cursor.com/docs/context/rules, https://cursor.com/docs/agent/chat/commands
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

NAME = "cursor"
ARGUMENTS = "(the text typed after the command)"


def capabilities(is_global: bool) -> Capabilities:
    return Capabilities(always_on=True, on_demand=True, commands=True)


def command_name(ctx: Context, command: str) -> str:
    return f"{ctx.name}-{command}"


def invocations(ctx: Context) -> dict[str, str]:
    return {c.name: f"/{command_name(ctx, c.name)}" for c in ctx.commands}


def rule(ctx: Context) -> str:
    globs = ",".join(ctx.persona.globs)  # Cursor reads globs as a comma-separated list
    front = frontmatter(
        [
            ("description", yaml_str(ctx.summary)),
            ("globs", globs),
            ("alwaysApply", "true" if ctx.persona.always else "false"),
        ]
    )
    return front + instructions(ctx, invocations(ctx))


def emit(ctx: Context, want: Desired) -> None:
    want.files[f".cursor/rules/{ctx.name}.mdc"] = text_file(rule(ctx))
    for command in ctx.commands:
        body = f"# {command.description}\n\n" + command.body.replace("$ARGUMENTS", ARGUMENTS)
        want.files[f".cursor/commands/{command_name(ctx, command.name)}.md"] = text_file(body)
