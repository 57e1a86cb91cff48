"""Cursor: an agent-requested rule and real commands.

* ``.cursor/rules/<persona>.mdc`` "Agent Requested": ``description`` (precise, so the agent can
  decide to load it) and ``alwaysApply: false``; ``globs`` only when the persona names its files,
  and ``alwaysApply: true`` only when it says ``always: true``;
* ``.cursor/commands/<persona>-<command>.md`` - plain Markdown, run with ``/<persona>-<command>``.

Project only: Cursor keeps user rules in its settings, not in files.

Cursor reads Agent Skills from ``.agents/skills`` and ``.claude/skills`` too, so the ``agents``
and ``claude`` targets' skills serve it.

Docs (read 2026-12-06): https://cursor.com/docs/context/rules,
https://cursor.com/docs/agent/chat/commands, https://cursor.com/docs/context/skills
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
    """Agent Requested (a ``description``, no ``globs``, ``alwaysApply: false``) unless the persona
    names its files (then also Auto Attached to them) or says ``always: true``."""
    pairs = [("description", yaml_str(ctx.summary))]
    if ctx.persona.globs:
        pairs.append(("globs", ",".join(ctx.persona.globs)))  # Cursor: comma-separated
    pairs.append(("alwaysApply", "true" if ctx.persona.always else "false"))
    return frontmatter(pairs) + instructions(ctx, invocations(ctx))


def emit(ctx: Context, want: Desired) -> None:
    want.files[f".cursor/rules/{ctx.name}.mdc"] = text_file(rule(ctx))
    for command in ctx.commands:
        body = f"# {command.description}\n\n" + command.body.replace("$ARGUMENTS", ARGUMENTS)
        want.files[f".cursor/commands/{command_name(ctx, command.name)}.md"] = text_file(body)
