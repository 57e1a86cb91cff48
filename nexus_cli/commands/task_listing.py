"""`nexus task list|ready`: the listings, printed from the stored JSON documents (`task search`
and `task duplicates`, which need the search core, are :mod:`nexus_cli.commands.task_search`'s)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from nexus_cli.caller import Caller
from nexus_cli.commands.task_common import STATUS_CHOICES, agent_option, project
from nexus_cli.output import emit_json, json_option, print_table
from nexus_cli.tasks.limits import LIST_LIMIT, MAX_LIMIT, READY_LIMIT
from nexus_cli.tasks.listing import list_tasks
from nexus_cli.tasks.listing import ready as ready_tasks
from nexus_cli.tasks.listing import tree as task_tree

if TYPE_CHECKING:
    from nexus_cli.tasks.listing import TaskListing
    from nexus_cli.tasks.model import Task


def limit_option(default: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``-n/--limit``: at most this many (0: all), up to the MCP tools' own cap."""
    return click.option(
        "-n",
        "--limit",
        type=click.IntRange(0, MAX_LIMIT),
        default=default,
        show_default=True,
        help="At most this many (0: all).",
    )


def _rows(tasks: list[Task]) -> list[tuple[Any, ...]]:
    return [(t.id, f"P{t.priority}", t.status, t.assignee or "-", t.title) for t in tasks]


def print_listing(found: TaskListing, as_json: bool, empty: str) -> None:
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
@click.option("--parent", metavar="ID", help="Only the subtasks of this task.")
@click.option(
    "--since", metavar="WHEN", help="Changed since: YYYY-MM-DD, YYYY-MM-DDTHH:MMZ, or 7d, 12h, 30m."
)
@click.option("--tree", is_flag=True, help="Subtasks indented under their parent.")
@limit_option(LIST_LIMIT[Caller.PERSON])
@json_option
def list_(
    status: str | None,
    assignee: str | None,
    label: str | None,
    workspace: str | None,
    parent: str | None,
    since: str | None,
    tree: bool,
    limit: int,
    as_json: bool,
) -> None:
    """List tasks by priority, then age."""
    found = list_tasks(
        project(),
        status=status,
        assignee=assignee,
        label=label,
        workspace=workspace,
        parent=parent,
        since=since,
        limit=limit,
    )
    if not tree:
        print_listing(found, as_json, "no tasks")
        return
    roots = task_tree(found)
    if as_json:
        emit_json(roots)
        return
    rows: list[tuple[Any, ...]] = []
    _tree_rows(roots, 0, rows)
    print_table(("ID", "PRI", "STATUS", "ASSIGNEE", "TITLE"), rows, empty="no tasks")


def _tree_rows(nodes: list[dict[str, Any]], depth: int, rows: list[tuple[Any, ...]]) -> None:
    for node in nodes:
        title = "  " * depth + ("└ " if depth else "") + node["title"]
        rows.append(
            (node["id"], f"P{node['priority']}", node["status"], node["assignee"] or "-", title)
        )
        _tree_rows(node["children"], depth + 1, rows)


@click.command()
@agent_option
@limit_option(READY_LIMIT[Caller.PERSON])
@json_option
def ready(agent: str | None, limit: int, as_json: bool) -> None:
    """Open tasks with no unfinished dependency, unassigned or yours, by priority then age."""
    print_listing(ready_tasks(project(), agent=agent, limit=limit), as_json, "nothing is ready")
