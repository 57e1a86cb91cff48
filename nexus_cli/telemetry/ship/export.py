"""``nexus export``: events, sessions and patterns as JSON, NDJSON, CSV, or a full SQL dump.

Everything is produced as a stream of text chunks, so large databases export in constant memory.
The hashing salt lives in its own file and never appears in an export.

JSON, NDJSON and CSV rows are *portable* (:func:`portable`): timestamps are RFC 3339 UTC with a
``Z`` and, in JSON and NDJSON, ``raw_data`` and ``affected_sessions`` are JSON values rather
than JSON text. The SQL dump keeps the stored values as they are, so that it restores exactly.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from nexus_cli import jsonio
from nexus_cli.telemetry.db.schema import EVENT_COLUMNS, ms_of
from nexus_cli.timefmt import rfc3339_or_same

if TYPE_CHECKING:
    from nexus_cli.telemetry.db.handle import Db

TABLES = {"events": "timestamp", "sessions": "ended_at", "patterns": "last_seen"}
DEFAULT_TABLES = ("events",)
# The stored columns that hold a UTC timestamp, and those that hold JSON text.
TIMESTAMP_COLUMNS = {
    "events": ("timestamp",),
    "sessions": ("started_at", "ended_at"),
    "patterns": ("first_seen", "last_seen"),
}
JSON_COLUMNS = {"events": ("raw_data",), "patterns": ("affected_sessions",)}
BOOLEAN_COLUMNS = {"events": ("success",)}  # stored as 0/1


def _decoded(text: Any) -> Any:
    """Stored JSON text as its value; text that does not parse is kept as it is (never lost)."""
    if not isinstance(text, str):
        return text
    try:
        return jsonio.loads(text)
    except ValueError:
        return text


def _converter(
    table: str, names: Iterable[str], structured: bool
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Turn a row of ``table`` (with columns ``names``) into its portable form, in place.

    Built once per table, so that a large export spends its time on the rows, not on lookups.
    """
    present = set(names)
    stamps = [c for c in TIMESTAMP_COLUMNS.get(table, ()) if c in present]
    texts = [c for c in JSON_COLUMNS.get(table, ()) if c in present] if structured else []
    flags = [c for c in BOOLEAN_COLUMNS.get(table, ()) if c in present] if structured else []

    def convert(row: dict[str, Any]) -> dict[str, Any]:
        for column in stamps:
            row[column] = rfc3339_or_same(row[column])
        for column in texts:
            row[column] = _decoded(row[column])
        for column in flags:
            if type(row[column]) is int:
                row[column] = bool(row[column])
        return row

    return convert


def portable(table: str, row: dict[str, Any], *, structured: bool = True) -> dict[str, Any]:
    """``row`` as exports and sync send it: RFC 3339 timestamps, JSON columns decoded, 0/1 as
    booleans (a copy; the row is not changed)."""
    return _converter(table, row, structured)(dict(row))


def chosen_tables(names: tuple[str, ...] | list[str]) -> list[str]:
    """``--table`` values in the order given (``all``: every table); events when none."""
    if "all" in names:
        return list(TABLES)
    picked = list(dict.fromkeys(names))
    return picked or list(DEFAULT_TABLES)


def _rows(
    db: Db,
    table: str,
    since: str | None,
    until: str | None = None,
    *,
    structured: bool = True,
) -> Iterator[dict[str, Any]]:
    column, source, columns = TABLES[table], table, "*"
    bounds: list[Any] = [since, until]
    if table == "events" and (since or until):
        # the time index holds whole milliseconds (event_rows.at_ms, read through events_ms)
        column, source, columns = "at_ms", "events_ms", ", ".join(("id", *EVENT_COLUMNS))
        bounds = [None if b is None else ms_of(b) for b in bounds]
    where = [f"{column} {op} ?" for b, op in zip(bounds, (">=", "<"), strict=True) if b is not None]
    params = [b for b in bounds if b is not None]
    # `+id`: within a window the rows come from the time index and are sorted, rather than
    # every row read in id order and filtered (docs/telemetry.md, storage)
    order = " ORDER BY +id" if where else " ORDER BY id"
    sql = f"SELECT {columns} FROM {source}" + (f" WHERE {' AND '.join(where)}" if where else "")
    cursor = db.execute(sql + order, params)
    names = [d[0] for d in cursor.description]
    convert = _converter(table, names, structured)
    for row in cursor:
        yield convert(dict(zip(names, row, strict=True)))


def as_json(
    db: Db, tables: list[str], since: str | None, until: str | None = None
) -> Iterator[str]:
    yield "{"
    for t_index, table in enumerate(tables):
        yield f"{',' if t_index else ''}\n  {jsonio.dumps(table, ascii_only=True)}: ["
        for r_index, row in enumerate(_rows(db, table, since, until)):
            yield f"{',' if r_index else ''}\n    {jsonio.dumps_output(row, indent=None)}"
        yield "\n  ]"
    yield "\n}\n"


def as_ndjson(
    db: Db, tables: list[str], since: str | None, until: str | None = None
) -> Iterator[str]:
    for table in tables:
        for row in _rows(db, table, since, until):
            yield jsonio.dumps_output({"table": table, **row}, indent=None) + "\n"


def as_csv(db: Db, table: str, since: str | None, until: str | None = None) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    cursor = db.execute(f"SELECT * FROM {table} LIMIT 0")
    writer.writerow([d[0] for d in cursor.description])
    for row in _rows(db, table, since, until, structured=False):
        writer.writerow(row.values())
        if buffer.tell() > 65536:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def as_sql(conn: sqlite3.Connection) -> Iterator[str]:
    """A full dump (schema, data, and the schema version ``iterdump`` leaves out) that restores
    into an empty database, which then opens as up to date."""
    for statement in conn.iterdump():
        yield statement + "\n"
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    yield f"PRAGMA user_version = {version};\n"
