"""``nexus prime``: the start-of-session briefing for a coding agent (Markdown or --json)."""

from __future__ import annotations

import click

from nexus_cli.commands.task_common import agent_option, project
from nexus_cli.output import emit_json, json_option
from nexus_cli.project import current_dir
from nexus_cli.tasks.prime import briefing, render
from nexus_cli.telemetry.journal import invocation


@click.command()
@agent_option
@json_option
def prime(agent: str | None, as_json: bool) -> None:
    """Print what an agent needs at the start of a session: project, workspace, its tasks in
    progress (with the last failing gate), ready and blocked tasks, and what to run next.

    Claude Code shows the same briefing at session start (`nexus hook session-start`, set up by
    `nexus hooks install --client claude`).
    """
    invocation.note(event_type="task")
    brief = briefing(project(), current_dir(), agent=agent)
    if as_json:
        emit_json(brief.to_json())
    else:
        click.echo(render(brief))
