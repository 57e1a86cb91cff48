"""The one core behind ``nexus export``: telemetry in a portable format, to a file or a stream.

It checks the request (CSV holds one table; ``since`` is a date or an age), opens the telemetry
database (folding the journal), and streams the chosen format from :mod:`.ship.export` either to
a file written atomically (:mod:`.present.files`, 0600, an existing file only with ``force``) or
to ``write``. The salt is never part of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from nexus_cli.errors import UsageError
from nexus_cli.telemetry.db import store
from nexus_cli.telemetry.db.handle import Db
from nexus_cli.telemetry.db.schema import stamp
from nexus_cli.telemetry.journal.invocation import note
from nexus_cli.telemetry.present import files
from nexus_cli.telemetry.query.window import parse_moment
from nexus_cli.telemetry.ship import export as formats

FORMATS = ("json", "ndjson", "csv")


def _chunks(db: Db, fmt: str, tables: list[str], since: str | None, sql: bool) -> Iterator[str]:
    if sql:
        return formats.as_sql(db.conn)
    if fmt == "csv":
        return formats.as_csv(db, tables[0], since)
    if fmt == "ndjson":
        return formats.as_ndjson(db, tables, since)
    return formats.as_json(db, tables, since)


def export(
    *,
    fmt: str = "json",
    tables: tuple[str, ...] = (),
    since: str | None = None,
    sql: bool = False,
    output: str | None = None,
    force: bool = False,
    write: Callable[[str], object],
) -> str | None:
    """Export ``tables`` (default events; ``all``) as ``fmt``, or everything as SQL with ``sql``,
    rows from ``since`` on. With ``output`` the export goes to that file and its absolute path is
    returned; otherwise each chunk goes to ``write`` and None is returned."""
    note(event_type="telemetry")
    unknown = sorted({t for t in tables if t != "all" and t not in formats.TABLES})
    if unknown:
        raise UsageError(
            f"unknown table {unknown[0]!r}: choose from {', '.join(formats.TABLES)} or all"
        )
    chosen = formats.chosen_tables(tables)
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r}: choose json, ndjson or csv")
    if fmt == "csv" and len(chosen) > 1:
        raise UsageError("CSV holds one table: pass a single --table")
    start = None
    if since:
        start = stamp(parse_moment(since, option="--since", now=datetime.now(UTC))[0])
    with store.opened() as db:
        chunks = _chunks(db, fmt, chosen, start, sql)
        if output:
            return files.write_chunks(output, chunks, force=force)
        for chunk in chunks:
            write(chunk)
    return None
