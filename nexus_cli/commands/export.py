"""``nexus export``: your telemetry in a portable format (the salt is never included)."""

from __future__ import annotations

import sys
from typing import Any

import click

from nexus_cli.commands.stats import window_options
from nexus_cli.errors import UsageError
from nexus_cli.tasks import metrics
from nexus_cli.telemetry import exporting


@click.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "ndjson", "csv", "openmetrics"]),
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
@window_options
@click.option("--sql", is_flag=True, help="Write a full SQL dump instead (restores with sqlite3).")
@click.option("--output", "-o", metavar="FILE", help="Write to FILE instead of stdout.")
@click.option(
    "--force", is_flag=True, help="Replace an existing --output file (unsafe: its content is lost)."
)
def export(
    fmt: str,
    tables: tuple[str, ...],
    sql: bool,
    output: str | None,
    force: bool,
    **window: Any,
) -> None:
    """Export events (other tables with --table) as JSON, NDJSON or CSV, or everything as SQL.

    Timestamps are RFC 3339 UTC (`2026-11-30T17:59:00.436Z`) and `raw_data` is a JSON object
    (see docs/json.md); the SQL dump keeps the stored values so that it restores exactly.
    `--format openmetrics` writes the metrics instead (counters and histograms of commands,
    tasks and gates; see docs/telemetry.md), e.g. for node_exporter's textfile collector.

    Without --today, --week, --month, --since or --until every row is exported; --until alone
    exports everything before it.
    """
    chosen = [f"--{name}" for name, value in window.items() if value]
    if fmt == "openmetrics":
        if tables or chosen or sql:
            raise UsageError("--format openmetrics takes no --table, --sql or time window")
        path = metrics.export_openmetrics(output=output, force=force, write=sys.stdout.write)
        if path is not None:
            click.echo(f"exported to {path}", err=True)
        return
    path = exporting.export(
        fmt=fmt,
        tables=tables,
        window=exporting.Bounds.of(**window) if chosen else None,
        sql=sql,
        output=output,
        force=force,
        write=sys.stdout.write,
    )
    if path is not None:
        click.echo(f"exported to {path}", err=True)
