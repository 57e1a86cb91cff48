"""``nexus hooks install|uninstall``: the lifecycle hooks that keep an agent on its gated task."""

from __future__ import annotations

import click

from nexus_cli.commands.mcp import report
from nexus_cli.lazy import NexusGroup
from nexus_cli.mcp import client_files
from nexus_cli.mcp import install as logic
from nexus_cli.output import info, json_option

CLIENTS = click.Choice(list(client_files.HOOK_CLIENTS))


@click.group(cls=NexusGroup)
def hooks() -> None:
    """Install the hooks that keep a coding agent on its gated task.

    Claude Code gets `SessionStart` (startup, resume, compact: the `nexus prime` briefing, with
    the task's hand-off after a compaction), `Stop` and `SubagentStop` (the turn does not end
    while the session's task has a failing or unrun gate; at most 3 times in a row) and
    `TaskCompleted`. Codex gets `SessionStart`, `Stop` and `SubagentStop` in `.codex/hooks.json`
    (Codex runs hooks with `[features] codex_hooks = true` in its config.toml).

    The session's task is NEXUS_TASK_ID, else your latest claimed task, else the task of the
    workspace the agent runs in. Each hook runs `nexus hook EVENT`, which is silent outside a
    Nexus project and where `nexus` is not installed.
    """


@hooks.command()
@click.option("--client", "client", type=CLIENTS, required=True, help="The coding agent.")
@click.option(
    "--global", "is_global", is_flag=True, help="The user-wide settings, not the project's."
)
@click.option("--print", "print_only", is_flag=True, help="Only show what would be written.")
@json_option
def install(client: str, is_global: bool, print_only: bool, as_json: bool) -> None:
    """Add Nexus's hooks to CLIENT's settings as managed entries (`uninstall` removes them).

    Running it again adds only what is missing and takes out the PreCompact hook that an older
    `nexus mcp install --hooks` added.
    """
    plan = logic.plan_install(client_files.scope(is_global), client, hooks=True, server=False)
    if not print_only:
        logic.apply(plan)
    report(plan, print_only, as_json, what="Nexus's hooks are")
    if client == "codex" and not as_json:
        info("Codex runs hooks only with `[features] codex_hooks = true` in its config.toml")


@hooks.command()
@click.option("--client", "client", type=CLIENTS, required=True, help="The coding agent.")
@click.option("--global", "is_global", is_flag=True, help="The user-wide settings.")
@click.option("--print", "print_only", is_flag=True, help="Only show what would change.")
@json_option
def uninstall(client: str, is_global: bool, print_only: bool, as_json: bool) -> None:
    """Remove what `nexus hooks install` added, restoring each file byte for byte where possible."""
    plan = logic.plan_uninstall(client_files.scope(is_global), client, server=False)
    if not print_only:
        logic.apply(plan)
    report(plan, print_only, as_json)
