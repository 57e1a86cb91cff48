"""``nexus hook EVENT``: what a coding agent's lifecycle hook runs (installed by `nexus hooks`).

Each event is its own lazily loaded command, so the hook that runs at every end of a turn loads
only what deciding it needs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from nexus_cli.lazy import NexusGroup
from nexus_cli.mcp.hooks import MAX_PAYLOAD, HookAnswer, parse_payload

EVENTS = {
    "session-start": (
        "nexus_cli.commands.hook_start:session_start",
        "Print the briefing (and the task's hand-off after a compaction).",
    ),
    "stop": (
        "nexus_cli.commands.hook_gates:stop",
        "Keep the turn going while the session's task has a failing or unrun gate.",
    ),
    "subagent-stop": (
        "nexus_cli.commands.hook_gates:subagent_stop",
        "The same for a subagent's turn.",
    ),
    "task-completed": (
        "nexus_cli.commands.hook_gates:task_completed",
        "Keep a Claude Code task naming the Nexus task open until its gates pass.",
    ),
}


@click.group(cls=NexusGroup, lazy_subcommands=EVENTS)
def hook() -> None:
    """Answer a coding agent's lifecycle hook from the JSON it sends on stdin.

    Run by Claude Code or Codex (`nexus hooks install --client NAME` sets it up), not by hand.
    Outside a Nexus project every event prints nothing and exits 0; so does a hook that cannot
    answer (one line on stderr): a hook never fails the agent's session.
    """


def payload() -> dict[str, Any]:
    """The client's JSON from stdin (``{}`` when there is none or it is not an object)."""
    if sys.stdin is None or sys.stdin.isatty():
        return {}
    return parse_payload(sys.stdin.buffer.read(MAX_PAYLOAD))


def here() -> Path:
    try:
        return Path.cwd()
    except FileNotFoundError:  # the folder was deleted: no project here, so nothing to say
        return Path(os.sep)


def answer(result: HookAnswer) -> int:
    if result.stdout:
        click.echo(result.stdout, nl=False)
    if result.stderr:
        click.echo(result.stderr, nl=False, err=True)
    return result.exit_code
