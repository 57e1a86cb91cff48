"""OpenCode: the persona as a subagent, its commands, always-on rules in AGENTS.md, skills.

* ``.opencode/agents/<persona>.md`` - the persona as a subagent: ``description``, ``mode:
  subagent`` and ``permission`` (``deny`` for each of ``edit``, ``bash``, ``webfetch`` that the
  persona neither allows nor asks for, exactly the tools Claude's subagent gets); a tool it may use
  is left to the user's own OpenCode permissions, never widened. The body is its system prompt;
* ``.opencode/commands/<persona>-<command>.md`` - ``description`` and the command's text, which
  OpenCode fills in at ``$ARGUMENTS`` itself; invoked as ``/<persona>-<command>``;
* always-on instructions: a managed block in ``AGENTS.md``, the same text (and the same block) the
  ``agents`` target writes, so the two share it (``--global``: ``~/.config/opencode/AGENTS.md``).
  OpenCode reads ``CLAUDE.md`` only where there is no ``AGENTS.md``;
* skills in ``.opencode/skills/<persona>-<command>/SKILL.md`` only when neither the ``claude``
  nor the ``agents`` target is installed: OpenCode reads ``.claude/skills`` and
  ``.agents/skills`` too, and a skill found twice would be listed twice.

``--global`` writes under ``~/.config/opencode`` (OpenCode's folder on every platform; refused
when ``XDG_CONFIG_HOME`` moves it elsewhere, outside the folders ``--global`` may write). The MCP
server goes into ``opencode.json`` with ``nexus mcp install --client opencode``, not here.

These are OpenCode 1's formats; OpenCode 2 reads them unchanged (its ``migrate-v1`` page:
"agent definitions, command definitions, skills, and other files in .opencode/ should continue
to work without changes").

Docs (read 2026-12-06): https://opencode.ai/docs/agents (locations, ``description``, ``mode``),
https://opencode.ai/v1/docs/agents and https://opencode.ai/docs/permissions (``permission``:
``edit``, ``bash``, ``webfetch`` = ``allow``/``ask``/``deny``), https://opencode.ai/v1/docs/commands
(``.opencode/commands/``, ``description``, ``$ARGUMENTS``), https://opencode.ai/docs/skills
(``.opencode/skills``; compatibility ``.claude/skills``, ``.agents/skills``),
https://opencode.ai/v1/docs/rules (``AGENTS.md``; global ``~/.config/opencode/AGENTS.md``),
https://opencode.ai/docs/migrate-v1
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from nexus_cli.errors import UsageError
from nexus_cli.paths import opencode_config_dir
from nexus_cli.personas.plan import Desired
from nexus_cli.personas.targets.base import (
    Capabilities,
    Command,
    Context,
    emit_skills,
    frontmatter,
    instructions,
    text_file,
    yaml_str,
)
from nexus_cli.personas.targets.claude import subagent_tools

NAME = "opencode"
GLOBAL_FOLDER = ".config/opencode"  # under the home folder
# OpenCode's permission keys, and the Claude Code tools each one covers
PERMISSIONS = {
    "edit": ("Edit", "Write", "MultiEdit", "NotebookEdit"),
    "bash": ("Bash",),
    "webfetch": ("WebFetch",),
}


def capabilities(is_global: bool) -> Capabilities:
    return Capabilities(always_on=True, on_demand=True, commands=True, skills=True, subagents=True)


def command_name(ctx: Context, command: str) -> str:
    return f"{ctx.name}-{command}"


def invocations(ctx: Context) -> dict[str, str]:
    return {c.name: f"/{command_name(ctx, c.name)}" for c in ctx.commands}


def permission(ctx: Context) -> dict[str, str]:
    """``deny`` for each OpenCode permission whose tools the persona's subagent does not get."""
    tools = set(subagent_tools(ctx))
    return {key: "deny" for key, covers in PERMISSIONS.items() if not tools & set(covers)}


def subagent(ctx: Context) -> str:
    pairs = [("description", yaml_str(ctx.summary)), ("mode", "subagent")]
    denied = permission(ctx)
    if denied:
        pairs.append(("permission", json.dumps(denied)))  # a JSON object is a YAML flow mapping
    return frontmatter(pairs) + "\n" + instructions(ctx, {})  # the user's commands are not its


def command_file(command: Command) -> str:
    return frontmatter([("description", yaml_str(command.description))]) + "\n" + command.body


def folder(ctx: Context) -> str:
    """Where OpenCode's files go, relative to the scope's root (the home folder with --global)."""
    if not ctx.is_global:
        return ".opencode"
    home = Path(os.path.expanduser("~"))
    if opencode_config_dir() != home / GLOBAL_FOLDER:
        raise UsageError(
            f"OpenCode's user folder is {opencode_config_dir()} (XDG_CONFIG_HOME); "
            f"--global writes only ~/{GLOBAL_FOLDER}",
            hint="add the persona to a project instead, or unset XDG_CONFIG_HOME",
        )
    return GLOBAL_FOLDER


def emit(ctx: Context, want: Desired) -> None:
    base = folder(ctx)
    rules = f"{GLOBAL_FOLDER}/AGENTS.md" if ctx.is_global else "AGENTS.md"
    # the agents target's very block: one copy in AGENTS.md whichever of the two wrote it
    want.blocks[rules] = f"<!-- {ctx.tag} -->\n{instructions(ctx, {})}"
    want.files[f"{base}/agents/{ctx.name}.md"] = text_file(subagent(ctx))
    for command in ctx.commands:
        want.files[f"{base}/commands/{command_name(ctx, command.name)}.md"] = text_file(
            command_file(command)
        )
    if not {"claude", "agents"} & set(ctx.targets):
        emit_skills(ctx, want, f"{base}/skills")
