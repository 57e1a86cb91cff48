"""``nexus export``: your telemetry in a portable format (the salt is never included)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click

from nexus_cli.errors import UsageError
from nexus_cli.telemetry.db import store
from nexus_cli.telemetry.db.schema import stamp
from nexus_cli.telemetry.journal.invocation import note
from nexus_cli.telemetry.present import files
from nexus_cli.telemetry.query.window import parse_moment
from nexus_cli.telemetry.ship import export as logic


@click.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "ndjson", "csv"]),
    default="json",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--table",
    "tables",
    multiple=True,
    type=click.Choice(["events", "sessions", "patterns", "all"]),
    help="Export this table (repeatable, or `all`; default events; CSV takes exactly one).",
)
@click.option("--since", metavar="DATE", help="Only rows from DATE on (YYYY-MM-DD UTC or 7d).")
@click.option("--sql", is_flag=True, help="Write a full SQL dump instead (restores with sqlite3).")
@click.option("--output", "-o", metavar="FILE", help="Write to FILE instead of stdout.")
@click.option(
    "--force", is_flag=True, help="Replace an existing --output file (unsafe: its content is lost)."
)
def export(
    fmt: str, tables: tuple[str, ...], since: str | None, sql: bool, output: str | None, force: bool
) -> None:
    """Export events (other tables with --table) as JSON, NDJSON or CSV, or everything as SQL.

    Timestamps are RFC 3339 UTC (`2026-11-30T17:59:00.436Z`) and `raw_data` is a JSON object
    (see docs/json.md); the SQL dump keeps the stored values so that it restores exactly.
    """
    note(event_type="telemetry")
    chosen = logic.chosen_tables(tables)
    if fmt == "csv" and len(chosen) > 1:
        raise UsageError("CSV holds one table: pass a single --table")
    start = None
    if since:
        start = stamp(parse_moment(since, option="--since", now=datetime.now(UTC))[0])
    with store.opened() as db:
        if sql:
            chunks = logic.as_sql(db.conn)
        elif fmt == "csv":
            chunks = logic.as_csv(db, chosen[0], start)
        elif fmt == "ndjson":
            chunks = logic.as_ndjson(db, chosen, start)
        else:
            chunks = logic.as_json(db, chosen, start)
        if output:
            path = files.write_chunks(output, chunks, force=force)
            click.echo(f"exported to {path}", err=True)
        else:
            for chunk in chunks:
                sys.stdout.write(chunk)
