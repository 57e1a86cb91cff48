"""The two long upgrades of the events of ``telemetry.db``, for the migrations of
:mod:`nexus_cli.telemetry.db.store`: m011 copies the old ``events`` table into ``strings`` and
``event_rows`` (:data:`COPY`), m012 converts ``event_rows`` into ``event_rows_ms`` (:data:`CONVERT`).

Before its migration, each moves the rows :data:`COPY_CHUNK` at a time, each chunk its own
transaction (:func:`in_chunks`); the migration then moves the rest (:func:`finish`). Until then
the previous Nexus still reads and writes the source table: rows it deletes meanwhile (retention,
purge, quarantine) the row counts tell, and those are dropped; after a purge it may also give
their ids to new events (the tables have no AUTOINCREMENT), which the last row moved tells
(:func:`_last_changed`): then every row moved is compared with its source, and the rows that are
not the same row any more are dropped and moved again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from nexus_cli import sqlite_open
from nexus_cli.telemetry.db import progress, schema

COPY_CHUNK = 100_000  # events per transaction of the copies before m011 and m012

Move = Callable[[sqlite3.Connection, int, int], None]  # the rows of an id range (low, end]
MoveWhere = Callable[[sqlite3.Connection, str, list[int]], None]  # the rows of a WHERE clause


@dataclass(frozen=True)
class Step:
    """One long upgrade: the rows of ``source`` moved into ``target``. ``changed`` (SQL) is true
    for a moved row ``n`` that is not the row ``o`` of its id in ``source`` any more;
    ``dropped`` (SQL, optional) runs after such rows went."""

    source: str
    target: str
    changed: str
    dropped: str = ""


COPY = Step(
    source="events",
    target="event_rows",
    changed=" OR ".join(  # compared as the text the old table holds
        [
            "o.id IS NULL",
            *(
                f"o.{c} IS NOT (SELECT value FROM strings WHERE id = n.{c})"
                if c in schema.INTERNED
                else f"o.{c} IS NOT n.{c}"
                for c in schema.EVENT_COLUMNS
            ),
        ]
    ),
    # until m011, only the copy writes `strings`: what no row refers to came from rows dropped
    dropped="DELETE FROM strings WHERE "
    + " AND ".join(
        f"id NOT IN (SELECT {c} FROM event_rows WHERE {c} IS NOT NULL)" for c in schema.INTERNED
    ),
)
CONVERT = Step(
    source="event_rows",
    target="event_rows_ms",
    changed=" OR ".join(
        [
            "o.id IS NULL",
            *(f"o.{c} IS NOT n.{c}" for c in schema.EVENT_COLUMNS if c != "timestamp"),
            f"o.timestamp IS NOT {schema.timestamp_sql('n.at_ms')}",
        ]
    ),
)


def in_chunks(conn: sqlite3.Connection, tick: progress.Tick, step: Step, move: Move) -> None:
    """Move the rows of ``step.source`` into ``step.target`` (``move`` of an id range) COPY_CHUNK
    at a time, each chunk its own transaction. Interrupted (Ctrl-C, SIGTERM, a crash), the chunks
    done stay done and the next open goes on after the last id in ``target``."""
    source, target = step.source, step.target
    while True:
        with sqlite_open.transaction(conn):
            if _last_changed(conn, step):  # deleted since (a purge): compare them all
                _drop_changed(conn, step)
            low = last_id(conn, target)
            row = conn.execute(
                f"SELECT id FROM {source} WHERE id > ? ORDER BY id LIMIT 1 OFFSET ?",
                [low, COPY_CHUNK - 1],
            ).fetchone()
            end = row[0] if row else conn.execute(f"SELECT max(id) FROM {source}").fetchone()[0]
            if end is None or end <= low:
                return
            move(conn, low, end)
            moved = conn.execute(f"SELECT count(*) FROM {target} WHERE id > ?", [low]).fetchone()
        tick(moved[0])


def finish(conn: sqlite3.Connection, step: Step, move: Move, move_where: MoveWhere) -> None:
    """In the migration's transaction: move the rows after the last one moved. When an older
    Nexus deleted the last one moved (a purge) and maybe gave its id and others to new events,
    drop every row that is not the same row any more and move the rows missing; when it deleted
    only others (retention, quarantine: the row counts differ), drop those. Nothing changed:
    one lookup and two counts, no comparison of the rows."""
    changed = _last_changed(conn, step)
    move(conn, last_id(conn, step.target), last_id(conn, step.source))
    if changed:
        _drop_changed(conn, step)
        move_where(conn, f"id NOT IN (SELECT id FROM {step.target})", [])
    elif rows_in(conn, step.target) != rows_in(conn, step.source):
        conn.execute(f"DELETE FROM {step.target} WHERE id NOT IN (SELECT id FROM {step.source})")


def _last_changed(conn: sqlite3.Connection, step: Step) -> bool:
    """Whether the last row moved is not the row of its id in the source any more. A new row
    takes the id after the highest one left (no Nexus gives an id or changes a row), so a moved
    row can only come to differ from its source once the last one moved was deleted: this
    lookup, made in each transaction that moves rows, tells it."""
    found = conn.execute(
        f"SELECT 1 FROM {step.target} AS n LEFT JOIN {step.source} AS o ON o.id = n.id "
        f"WHERE n.id = (SELECT max(id) FROM {step.target}) AND ({step.changed})"
    ).fetchone()
    return found is not None


def _drop_changed(conn: sqlite3.Connection, step: Step) -> None:
    """Drop every moved row that is not the row of its id in the source any more."""
    conn.execute(
        f"DELETE FROM {step.target} WHERE id IN (SELECT n.id FROM {step.target} AS n "
        f"LEFT JOIN {step.source} AS o ON o.id = n.id WHERE {step.changed})"
    )
    if step.dropped:
        conn.execute(step.dropped)


def last_id(conn: sqlite3.Connection, table: str) -> int:
    return int(conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0])


def rows_in(conn: sqlite3.Connection, table: str) -> int:
    """How many rows ``table`` holds (0 while it does not exist yet)."""
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    except sqlite3.OperationalError:  # not started
        return 0


def copy_range(conn: sqlite3.Connection, low: int, end: int) -> None:
    """Copy the old ``events`` rows ``(low, end]`` into ``strings`` and ``event_rows``."""
    copy_where(conn, "id > ? AND id <= ?", [low, end])


def copy_where(conn: sqlite3.Connection, where: str, params: list[int]) -> None:
    """Copy the old ``events`` rows matching ``where``, their strings first."""
    for column in schema.INTERNED:
        conn.execute(
            f"INSERT OR IGNORE INTO strings (value) SELECT DISTINCT {column} FROM events "
            f"WHERE ({where}) AND {column} IS NOT NULL",
            params,
        )
    values = ", ".join(
        f"(SELECT id FROM strings WHERE value = e.{c})" if c in schema.INTERNED else f"e.{c}"
        for c in ("id", *schema.EVENT_COLUMNS)
    )
    conn.execute(
        f"INSERT INTO event_rows SELECT {values} FROM events AS e WHERE {where} ORDER BY e.id",
        params,
    )


def convert_range(conn: sqlite3.Connection, low: int, end: int) -> None:
    """Copy the text-timestamp ``event_rows`` ``(low, end]`` into ``event_rows_ms``, each time
    as whole milliseconds (a text that does not read back exactly is kept as it is: the
    roll-up fold moves such a row into quarantine, as it did)."""
    convert_where(conn, "id > ? AND id <= ?", [low, end])


def convert_where(conn: sqlite3.Connection, where: str, params: list[int]) -> None:
    columns = ", ".join(
        schema.ms_sql("timestamp") if c == "timestamp" else c for c in ("id", *schema.EVENT_COLUMNS)
    )
    conn.execute(
        f"INSERT INTO event_rows_ms SELECT {columns} FROM event_rows WHERE {where} ORDER BY id",
        params,
    )
