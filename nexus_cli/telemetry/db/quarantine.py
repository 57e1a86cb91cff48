"""What the fold cannot take is kept aside and counted, never fatal: the ``quarantine`` table.

Two folds read untrusted rows: the journal fold (:mod:`~nexus_cli.telemetry.db.fold`, journal
records into ``events``) and the roll-up fold (:mod:`~nexus_cli.telemetry.db.rollups`, events
into per-day figures). One record that passes the journal's check but breaks a fold would
otherwise roll back the fold's transaction on every later read. So both folds first check each
row with :func:`event_problem` (and the roll-up fold with :data:`VALID_EVENT_SQL` too), and a row
that fails the check, or still makes its fold raise (:data:`ROW_ERRORS`), is moved here, inside
the fold's own transaction, while the good rows are stored:

The journal fold checks every number of ``raw_data`` (:func:`raw_data_problem`), once per
record; the roll-up fold, which reads every event again on a rebuild, checks the shape of each
row in SQL (:data:`VALID_EVENT_SQL`) and the counts it adds (:func:`counts_problem`).

* every quarantined row adds 1 to the counter ``quarantine:<source>:<reason>`` in
  ``maintenance`` (exact, whatever was kept); ``source`` is ``journal`` (a journal record: its
  bytes) or ``event`` (an ``events`` row moved out of the table: its columns as JSON);
* the first :data:`KEEP` rows are kept whole in ``quarantine`` (``at``, ``source``, ``reason``,
  ``detail``, ``data``) so that nothing is lost; later ones are counted only, so a hostile
  journal cannot grow the database past ``KEEP`` times the 64 KiB a record may hold.

Reasons are Nexus's own words (a field name and what is wrong with it), never a record's
content; ``detail`` (an exception's message) may quote the record and is shown escaped.
``nexus telemetry status`` and ``nexus doctor`` report the counts (:func:`summary`);
``nexus telemetry purge`` empties the table with the rest.
"""

from __future__ import annotations

import json
import math
import sqlite3
from typing import Any

from nexus_cli.telemetry.db import schema
from nexus_cli.telemetry.db.schema import EVENT_COLUMNS

TABLE = "quarantine"
COUNT_PREFIX = "quarantine:"
KEEP = 1_000
MAX_REASON = 120
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS quarantine (id INTEGER PRIMARY KEY, at TEXT NOT NULL, "
    "source TEXT NOT NULL, reason TEXT NOT NULL, detail TEXT, data BLOB)"
)
# The largest magnitude a number in raw_data may have: JSON's interoperable range (RFC 7493),
# so that every sum the readers make over them fits SQLite's 64-bit integers.
MAX_NUMBER = 2**53
# counts.* the recorder writes (and the roll-ups and `sessions` add): whole numbers below 2**31.
COUNTERS = ("workspaces_created", "tasks_completed")
MAX_COUNT = 2**31
# What a row can make a fold raise: its own fault. SQLite's OperationalError (busy, locked,
# disk I/O) is not one: it is never a reason to put a row aside.
ROW_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,
    TypeError,
    OverflowError,
    KeyError,
    IndexError,
    AttributeError,
    RecursionError,
    sqlite3.IntegrityError,
    sqlite3.InterfaceError,
    sqlite3.DataError,
    sqlite3.ProgrammingError,
)

# An events row of the shape the journal fold writes, as far as the roll-ups and the readers
# depend on it (a cheap test: it runs on every event the roll-up fold takes). A row of another
# shape comes from a damaged or hand-edited database, or another program.
VALID_EVENT_SQL = """(
    typeof(timestamp) = 'text' AND length(timestamp) = 23 AND typeof(session_id) = 'text'
    AND typeof(duration_ms) IN ('integer', 'null') AND typeof(success) IN ('integer', 'null')
    AND (raw_data IS NULL OR json_valid(raw_data))
)"""
# The time of a stored row (``event_rows.at_ms``): whole milliseconds that the view shows as a
# 23-character ``timestamp`` (schema.ms_sql keeps any other value as it was written).
VALID_TIME_SQL = (
    f"typeof(at_ms) = 'integer' AND at_ms BETWEEN {schema.AT_MS_MIN} AND {schema.AT_MS_MAX}"
)
# VALID_EVENT_SQL over the stored rows (``event_rows``, where session_id is a ``strings`` id,
# the time VALID_TIME_SQL), without the ``events`` view's lookup of every interned column: only
# the session's.
VALID_ROW_SQL = f"""(
    {VALID_TIME_SQL}
    AND EXISTS (SELECT 1 FROM strings WHERE id = session_id AND typeof(value) = 'text')
    AND typeof(duration_ms) IN ('integer', 'null') AND typeof(success) IN ('integer', 'null')
    AND (raw_data IS NULL OR json_valid(raw_data))
)"""


class _Refused(ValueError):
    pass


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or abs(value) > MAX_NUMBER:
        raise _Refused("a number out of range")
    return value


def _int(text: str) -> int:
    if len(text) > 17 or abs(value := int(text)) > MAX_NUMBER:
        raise _Refused("a number out of range")
    return value


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not a number")


def raw_data_problem(raw: str | None) -> str | None:
    """Why a journal record's ``raw_data`` cannot be folded (None: it can): a JSON object whose
    numbers are finite and within ±2**53 and whose :func:`counts_problem` is None."""
    if raw is None:
        return None
    try:
        data = json.loads(raw, parse_float=_float, parse_int=_int, parse_constant=_constant)
    except _Refused as exc:
        return f"raw_data: {exc}"
    except (ValueError, RecursionError):
        return "raw_data: not JSON"
    if not isinstance(data, dict):
        return "raw_data: not a JSON object"
    return counts_problem(data)


def counts_problem(data: dict[str, Any]) -> str | None:
    """Why parsed ``raw_data`` cannot be folded (None: it can): its ``counts``, which the
    roll-ups and ``sessions`` add up, must be whole numbers in [0, 2**31)."""
    counts = data.get("counts")
    if counts is None:
        return None
    if not isinstance(counts, dict):
        return "raw_data: counts is not an object"
    for key in COUNTERS:
        value = counts.get(key, 0)
        if type(value) is not int or not 0 <= value < MAX_COUNT:
            return f"raw_data: counts.{key} is not a count"
    return None


def reason_text(reason: str) -> str:
    """``reason`` as stored: printable, at most :data:`MAX_REASON` characters."""
    text = "".join(c if c.isprintable() else "?" for c in reason)
    return text[:MAX_REASON] or "unknown"


def error_reason(exc: BaseException) -> tuple[str, str]:
    """``(reason, detail)`` for a row that made a fold raise ``exc``."""
    return f"the fold failed: {type(exc).__name__}", str(exc)[:1000]


def put(
    conn: sqlite3.Connection,
    source: str,
    reason: str,
    data: bytes | None,
    detail: str | None = None,
) -> None:
    """Count one quarantined row (and keep it while fewer than :data:`KEEP` are kept), inside
    the caller's transaction."""
    reason = reason_text(reason)
    conn.execute(
        "INSERT INTO maintenance (key, value) VALUES (?, '1') ON CONFLICT (key) "
        "DO UPDATE SET value = CAST(value AS INTEGER) + 1",
        (f"{COUNT_PREFIX}{source}:{reason}",),
    )
    kept = conn.execute("SELECT count(*) FROM quarantine").fetchone()[0]
    if kept < KEEP:
        conn.execute(
            "INSERT INTO quarantine (at, source, reason, detail, data) "
            "VALUES (strftime('%Y-%m-%d %H:%M:%f', 'now'), ?, ?, ?, ?)",
            (source, reason, detail, data),
        )


def _portable(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"hex": value.hex()}
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def move_events(conn: sqlite3.Connection, reasons: dict[int, tuple[str, str | None]]) -> None:
    """Move the ``events`` rows ``{id: (reason, detail)}`` out of ``events`` into quarantine."""
    columns = ("id", *EVENT_COLUMNS)
    for event_id, (reason, detail) in sorted(reasons.items()):
        row = conn.execute(
            f"SELECT {', '.join(columns)} FROM events WHERE id = ?", (event_id,)
        ).fetchone()
        if row is None:
            continue
        data = {c: _portable(v) for c, v in zip(columns, row, strict=True)}
        put(conn, "event", reason, json.dumps(data, allow_nan=False).encode(), detail)
        conn.execute("DELETE FROM events WHERE id = ?", (event_id,))


def summary(conn: sqlite3.Connection) -> dict[str, Any]:
    """``total`` quarantined rows, how many are ``kept`` whole, and ``reasons``: one
    ``{source, reason, count}`` per reason, the most frequent first. All 0 when the table or
    the counters are missing (a database older than the quarantine)."""
    reasons: list[dict[str, Any]] = []
    try:
        rows = conn.execute(
            "SELECT key, value FROM maintenance WHERE key >= ? AND key < ?",
            (COUNT_PREFIX, COUNT_PREFIX[:-1] + chr(ord(":") + 1)),
        ).fetchall()
        kept = int(conn.execute("SELECT count(*) FROM quarantine").fetchone()[0])
    except sqlite3.OperationalError:
        return {"total": 0, "kept": 0, "reasons": []}
    for key, value in rows:
        source, _, reason = str(key)[len(COUNT_PREFIX) :].partition(":")
        try:
            count = int(value)
        except (TypeError, ValueError):
            continue
        if count > 0:
            reasons.append({"source": source, "reason": reason, "count": count})
    reasons.sort(key=lambda r: (-r["count"], r["source"], r["reason"]))
    return {"total": sum(r["count"] for r in reasons), "kept": kept, "reasons": reasons}
