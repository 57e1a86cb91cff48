"""`nexus task context`: the Markdown hand-off of a task (goal, gates, last output, notes)."""

from __future__ import annotations

import click

from nexus_cli.commands.task_common import project
from nexus_cli.completion import completer
from nexus_cli.tasks.context import handoff
from nexus_cli.terminal import escape


@click.command()
@click.argument("task_id", metavar="[ID]", required=False, shell_complete=completer("task"))
@click.option("--current", is_flag=True, help="Your most recently changed task in progress.")
def context(task_id: str | None, current: bool) -> None:
    """Print a Markdown hand-off: goal, gates, last gate output, rejections, notes, related tasks.

    With --current (the compaction hand-off of `nexus hook session-start`), prints nothing when no
    task is yours.
    """
    found = handoff(project(), task_id, current=current)
    if found is not None:
        click.echo(escape(found.markdown))
