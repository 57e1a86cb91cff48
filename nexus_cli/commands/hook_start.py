"""``nexus hook session-start``: the briefing, printed for the agent's context."""

from __future__ import annotations

import os

import click

from nexus_cli.commands.hook import answer, here, payload
from nexus_cli.mcp import hooks_start


@click.command("session-start")
def session_start() -> int:
    """Print the `nexus prime` briefing; after a compaction, also the session task's hand-off."""
    return answer(hooks_start.run(payload(), os.environ, here()))
