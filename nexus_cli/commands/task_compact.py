"""`nexus task compact`: tasks closed long ago become one short line each in tasks.jsonl."""

from __future__ import annotations

import click

from nexus_cli.commands.task_common import line, project
from nexus_cli.output import emit_json, info, json_option
from nexus_cli.plural import plural
from nexus_cli.tasks.compaction import compact as compact_tasks
from nexus_cli.tasks.config import MAX_COMPACT_AFTER_DAYS


@click.command()
@click.option(
    "--older-than",
    "older_than",
    type=click.IntRange(0, MAX_COMPACT_AFTER_DAYS),
    metavar="DAYS",
    help="Compact tasks closed more than DAYS days ago (default: tasks.compact_after_days, 90).",
)
@click.option("--dry-run", is_flag=True, help="Show what would be compacted; change nothing.")
@json_option
def compact(older_than: int | None, dry_run: bool, as_json: bool) -> None:
    """Summarise done and cancelled tasks closed long ago into one short line each.

    Each keeps its id, title, status, links, labels, gates and receipts, and a one-line summary;
    its notes, the rest of its description and of its history are dropped (git keeps them).
    Nothing compacts by itself: run it when tasks.jsonl grows, and commit the result.
    """
    report = compact_tasks(project(), older_than_days=older_than, dry_run=dry_run)
    if as_json:
        emit_json(report.to_json())
        return
    for item in report.tasks:
        closed = str((item.task.compacted or {}).get("closed_at", ""))[:10]
        click.echo(f"{item.task.id}  {item.task.status}  {closed}  {line(item.task.title)}")
    verb = "would compact" if dry_run else "compacted"
    info(
        f"{verb} {plural(len(report.tasks), 'task')} closed before {report.cutoff[:10]} "
        f"({report.older_than_days} days); tasks.jsonl: {report.bytes_before:,} -> "
        f"{report.bytes_after:,} bytes"
    )
