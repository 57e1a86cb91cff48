"""Gemini CLI: always-on instructions in ``GEMINI.md`` and the commands as custom commands.

* a managed block in ``GEMINI.md`` at the project root (``--global``: ``~/.gemini/GEMINI.md``),
  which Gemini CLI loads as context in every session; the text is the persona's instructions,
  naming the commands as Gemini CLI users type them;
* ``.gemini/commands/<persona>-<command>.toml`` (``--global``: ``~/.gemini/commands/``) with
  ``description`` and ``prompt``; ``$ARGUMENTS`` becomes Gemini's ``{{args}}``. Invoked as
  ``/<persona>-<command>``.

The MCP server goes into ``.gemini/settings.json`` (``mcpServers``) with ``nexus mcp install
--client gemini``, not here.

Docs (read 2026-12-06): https://geminicli.com/docs/cli/custom-commands (locations, ``prompt``
required, ``description``, ``{{args}}``), https://geminicli.com/docs/cli/gemini-md (GEMINI.md
context files, project and ``~/.gemini/``).
"""

from __future__ import annotations

import json

from nexus_cli.personas.plan import Desired
from nexus_cli.personas.targets.base import Capabilities, Command, Context, instructions, text_file

NAME = "gemini"


def capabilities(is_global: bool) -> Capabilities:
    return Capabilities(always_on=True, commands=True)


def command_name(ctx: Context, command: str) -> str:
    return f"{ctx.name}-{command}"


def invocations(ctx: Context) -> dict[str, str]:
    return {c.name: f"/{command_name(ctx, c.name)}" for c in ctx.commands}


def toml_str(value: str) -> str:
    """A TOML basic string: JSON's escapes (``\\"``, ``\\\\``, ``\\n``, ``\\u0000``) are TOML's."""
    return json.dumps(value, ensure_ascii=False)


def custom_command(command: Command) -> str:
    prompt = command.body.replace("$ARGUMENTS", "{{args}}")
    return f"description = {toml_str(command.description)}\nprompt = {toml_str(prompt)}\n"


def emit(ctx: Context, want: Desired) -> None:
    memory = ".gemini/GEMINI.md" if ctx.is_global else "GEMINI.md"
    want.blocks[memory] = f"<!-- {ctx.tag} -->\n{instructions(ctx, invocations(ctx))}"
    for command in ctx.commands:
        path = f".gemini/commands/{command_name(ctx, command.name)}.toml"
        want.files[path] = text_file(custom_command(command))
