"""`nexus task search|duplicates`: full-text search and titles that look alike (the search core,
which `task list` and `task ready` do not load)."""

from __future__ import annotations

import click

from nexus_cli.caller import Caller
from nexus_cli.commands.options import FiniteRange
from nexus_cli.commands.task_common import STATUS_CHOICES, project
from nexus_cli.commands.task_listing import limit_option, print_listing
from nexus_cli.output import emit_json, json_option, print_table
from nexus_cli.tasks.limits import LIST_LIMIT
from nexus_cli.tasks.search import DEFAULT_THRESHOLD
from nexus_cli.tasks.search import duplicates as find_duplicates
from nexus_cli.tasks.search import search as search_tasks


@click.command()
@click.argument("text")
@click.option("--status", type=STATUS_CHOICES)
@limit_option(LIST_LIMIT[Caller.PERSON])
@json_option
def search(text: str, status: str | None, limit: int, as_json: bool) -> None:
    """Tasks whose title, description or notes hold every word of TEXT, best match first.

    Words match as prefixes ("auth" finds "authentication"); nothing in TEXT is query syntax.
    """
    print_listing(search_tasks(project(), text, status=status, limit=limit), as_json, "no match")


@click.command()
@click.option(
    "--threshold",
    type=FiniteRange(0.3, 1.0),
    default=DEFAULT_THRESHOLD,
    show_default=True,
    help="How alike (0.3-1.0, trigram Jaccard similarity).",
)
@click.option("--all", "include_finished", is_flag=True, help="Include done and cancelled tasks.")
@json_option
def duplicates(threshold: float, include_finished: bool, as_json: bool) -> None:
    """Pairs of unfinished tasks whose titles look alike, most alike first."""
    found = find_duplicates(project(), threshold=threshold, include_finished=include_finished)
    if as_json:
        emit_json(found.to_json())
        return
    rows = [
        (f"{d.similarity:.2f}", d.first[0], d.first[1], d.second[0], d.second[1])
        for d in found.pairs
    ]
    print_table(("ALIKE", "ID", "TITLE", "ID", "TITLE"), rows, empty="no duplicates found")
