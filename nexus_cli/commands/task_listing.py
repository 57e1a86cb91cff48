"""`nexus task list|ready`: the listings, printed from the stored JSON documents."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from nexus_cli.caller import Caller
from nexus_cli.commands.task_common import STATUS_CHOICES, agent_option, project
from nexus_cli.output import json_option, print_table
from nexus_cli.tasks.limits import LIST_LIMIT, MAX_LIMIT, READY_LIMIT
from nexus_cli.tasks.listing import list_tasks
from nexus_cli.tasks.listing import ready as ready_tasks

if TYPE_CHECKING:
    from nexus_cli.tasks.listing import TaskListing
    from nexus_cli.tasks.model import Task


def _rows(tasks: list[Task]) -> list[tuple[Any, ...]]:
    return [(t.id, f"P{t.priority}", t.status, t.assignee or "-", t.title) for t in tasks]


def _listing(found: TaskListing, as_json: bool, empty: str) -> None:
    """Print tasks: their canonical JSON passed through as-is with --json (fast), or a table."""
    if as_json:
        click.echo(found.json_text())
        return
    print_table(("ID", "PRI", "STATUS", "ASSIGNEE", "TITLE"), _rows(found.tasks()), empty=empty)


@click.command(name="list")
@click.option("--status", type=STATUS_CHOICES)
@click.option("--assignee", metavar="A")
@click.option("--label", metavar="L")
@click.option("--workspace", metavar="W")
@click.option(
    "-n",
    "--limit",
    type=click.IntRange(0, MAX_LIMIT),
    default=LIST_LIMIT[Caller.PERSON],
    show_default=True,
    help="At most this many (0: all).",
)
@json_option
def list_(
    status: str | None,
    assignee: str | None,
    label: str | None,
    workspace: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List tasks by priority, then age."""
    found = list_tasks(
        project(), status=status, assignee=assignee, label=label, workspace=workspace, limit=limit
    )
    _listing(found, as_json, "no tasks")


@click.command()
@agent_option
@click.option(
    "-n",
    "--limit",
    type=click.IntRange(0, MAX_LIMIT),
    default=READY_LIMIT[Caller.PERSON],
    show_default=True,
    help="At most this many (0: all).",
)
@json_option
def ready(agent: str | None, limit: int, as_json: bool) -> None:
    """Open tasks with no unfinished dependency, unassigned or yours, by priority then age."""
    _listing(ready_tasks(project(), agent=agent, limit=limit), as_json, "nothing is ready")
