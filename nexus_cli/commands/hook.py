"""``nexus hook EVENT``: what a coding agent's lifecycle hook runs (installed by `nexus hooks`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from nexus_cli.mcp import hooks


def _here() -> Path:
    try:
        return Path.cwd()
    except FileNotFoundError:  # the folder was deleted: no project here, so nothing to say
        return Path(os.sep)


@click.command()
@click.argument("event", type=click.Choice(hooks.EVENTS))
def hook(event: str) -> int:
    """Answer the coding agent's EVENT hook from the JSON it sends on stdin.

    Run by Claude Code or Codex (`nexus hooks install --client NAME` sets it up), not by hand:
    `session-start` prints the `nexus prime` briefing (with the task's hand-off after a
    compaction); `stop` and `subagent-stop` keep the agent working while the session's task has
    a failing or unrun gate (at most 3 times in a row); `task-completed` keeps a Claude Code task
    that names the Nexus task open until its gates pass. Outside a Nexus project it prints
    nothing and exits 0.
    """
    raw = b"" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.buffer.read()
    answer = hooks.run(event, hooks.parse_payload(raw), os.environ, _here())
    if answer.stdout:
        click.echo(answer.stdout, nl=False)
    if answer.stderr:
        click.echo(answer.stderr, nl=False, err=True)
    return answer.exit_code
