"""``nexus export``: your telemetry in a portable format (the salt is never included)."""

from __future__ import annotations

import sys

import click

from nexus_cli.telemetry import exporting


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
    path = exporting.export(
        fmt=fmt,
        tables=tables,
        since=since,
        sql=sql,
        output=output,
        force=force,
        write=sys.stdout.write,
    )
    if path is not None:
        click.echo(f"exported to {path}", err=True)
