"""The retry pairs of the roll-ups (``rollup_retries``): each failure retried within 120 s in its
session. A fold finds those its new events can change (:func:`retries_of`); a full build finds
them all at its end, in one query (:func:`find_all_retries`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nexus_cli.telemetry.db import rollup_sql
from nexus_cli.telemetry.db.classify import RETRY_WITHIN_S
from nexus_cli.telemetry.db.handle import Db
from nexus_cli.telemetry.db.rollup_fold import RetryRow, retry_pairs
from nexus_cli.telemetry.db.rollup_marks import (
    RETRIES_PENDING_KEY,
    BadMark,
    bump_generation,
    get,
    mark,
)
from nexus_cli.telemetry.db.schema import text_sql, utc


def retries_of(db: Db, low: int, top: int) -> None:
    """Recompute the retry pairs that events ``(low, top]`` can change.

    In each touched session only pairs of failures from RETRY_WITHIN_S before its earliest new
    event onwards can change: an earlier failure's next event was already further away than
    that (or a new event that becomes its next one is), so it makes no pair either way. The
    events from there on are read in one range of the window index, so the work is
    proportional to the new events, however long the sessions.
    """
    starts = {
        session: start
        for session, start in db.execute(
            "SELECT session_id, min(at_ms) - ? FROM event_rows WHERE id > ? AND id <= ? "
            "GROUP BY session_id",
            [RETRY_WITHIN_S * 1000, low, top],
        )
    }
    if not starts:
        return
    events: dict[int, list[tuple[Any, ...]]] = {session: [] for session in starts}
    for session, at_ms, *event in db.execute(
        f"SELECT session_id, at_ms, id, {text_sql('at_ms')}, "
        "(SELECT value FROM strings WHERE id = e.command), success, "
        "(SELECT value FROM strings WHERE id = e.error_category) FROM event_rows AS e "
        "WHERE at_ms >= ? AND id <= ? ORDER BY at_ms, id",
        [min(starts.values()), top],
    ):
        if session in starts and at_ms >= starts[session]:
            events[session].append(tuple(event))
    names = dict(
        db.execute(
            f"SELECT id, value FROM strings WHERE id IN ({', '.join('?' for _ in starts)})",
            list(starts),
        )
    )
    found: list[RetryRow] = []
    for session, start in starts.items():
        db.execute(
            "DELETE FROM rollup_retries WHERE session_id = ? AND failed_at >= ?",
            [names[session], utc(start)],
        )
        found += retry_pairs(names[session], events[session])
    db.conn.executemany("INSERT OR REPLACE INTO rollup_retries VALUES (?, ?, ?, ?, ?, ?)", found)
    if utc(min(starts.values()))[:10] < datetime.now(UTC).date().isoformat():
        bump_generation(db)  # a retry row of a past day may change: cached sums are stale


def retries_pending(db: Db) -> bool:
    try:
        return get(db, RETRIES_PENDING_KEY) == 1
    except BadMark:
        return True


def find_all_retries(db: Db) -> None:
    """The retry pairs of every event up to the mark, in one query (the end of a full build)."""
    db.execute("DELETE FROM rollup_retries")
    rollup_sql.add_retry_rows(db.conn, mark(db))
    db.execute("DELETE FROM maintenance WHERE key = ?", [RETRIES_PENDING_KEY])
    bump_generation(db)
