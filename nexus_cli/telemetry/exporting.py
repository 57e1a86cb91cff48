"""The one core behind ``nexus export``: telemetry in a portable format, to a file or a stream.

It checks the request (CSV holds one table; a time window is read as ``stats`` reads it), opens the telemetry
database (folding the journal), and streams the chosen format from :mod:`.ship.export` either to
a file written atomically (:mod:`.present.files`, 0600, an existing file only with ``force``) or
to ``write``. The salt is never part of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from nexus_cli.errors import UsageError
from nexus_cli.telemetry.db import store
from nexus_cli.telemetry.db.handle import Db
from nexus_cli.telemetry.db.schema import stamp
from nexus_cli.telemetry.journal.invocation import note
from nexus_cli.telemetry.present import files
from nexus_cli.telemetry.query import window
from nexus_cli.telemetry.ship import export as formats

FORMATS = ("json", "ndjson", "csv")


@dataclass(frozen=True)
class Bounds:
    """The rows an export takes: ``since <= time < until`` (database timestamps; None: open)."""

    since: str | None
    until: str | None

    @classmethod
    def of(
        cls,
        *,
        today: bool = False,
        week: bool = False,
        month: bool = False,
        since: str | None = None,
        until: str | None = None,
    ) -> Bounds:
        """The bounds the window options give, read as ``stats`` reads them
        (:func:`window.resolve`), except that ``--until`` alone has no start."""
        if not (today or week or month or since):  # every row before --until
            return cls(None, stamp(window.end_of(until, datetime.now(UTC))))
        chosen = window.resolve(today=today, week=week, month=month, since=since, until=until)
        return cls(chosen.since, chosen.until)


def _chunks(db: Db, fmt: str, tables: list[str], bounds: Bounds, sql: bool) -> Iterator[str]:
    if sql:
        return formats.as_sql(db.conn)
    if fmt == "csv":
        return formats.as_csv(db, tables[0], bounds.since, bounds.until)
    if fmt == "ndjson":
        return formats.as_ndjson(db, tables, bounds.since, bounds.until)
    return formats.as_json(db, tables, bounds.since, bounds.until)


def export(
    *,
    fmt: str = "json",
    tables: tuple[str, ...] = (),
    window: Bounds | None = None,
    sql: bool = False,
    output: str | None = None,
    force: bool = False,
    write: Callable[[str], object],
) -> str | None:
    """Export ``tables`` (default events; ``all``) as ``fmt``, or everything as SQL with ``sql``,
    rows inside ``window`` (every row without one; a SQL dump always holds everything). With
    ``output`` the export goes to that file and its absolute path is returned; otherwise each
    chunk goes to ``write`` and None is returned."""
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
    if sql and window is not None:
        raise UsageError("a SQL dump holds everything: it takes no time window")
    with store.opened() as db:
        chunks = _chunks(db, fmt, chosen, window or Bounds(None, None), sql)
        if output:
            return files.write_chunks(output, chunks, force=force)
        for chunk in chunks:
            write(chunk)
    return None
