"""Folding raw events into roll-up figures, in memory: one pass, no SQL.

:class:`Accumulator` turns event rows (``EVENT_SELECT`` columns) into the figures the roll-up
tables hold, keyed by UTC day: per command counts, per (command, duration bucket) histograms,
``seen`` figures per (kind, key) and the sessions active that day. The same code folds new events
into the tables (:mod:`nexus_cli.telemetry.db.rollups`) and reads the partial days at a window's
edges from raw events (:mod:`nexus_cli.telemetry.query.aggregate`), so both always agree.

:func:`retry_pairs` finds failures followed in their session by the same command within
``RETRY_WITHIN_S``; pairs span events, so they are recomputed per touched session.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nexus_cli.telemetry.db import classify, sketch
from nexus_cli.telemetry.db.classify import RETRY_WITHIN_S
from nexus_cli.telemetry.db.schema import day_number_sql, day_text_sql, ms_of, text_sql

# Stands for a NULL command, error category or template in the roll-up keys (never a real name).
NONE = "\x00"
SESSIONS_KEPT = 20
# Over `events_ms` (the `events` view with `at_ms`), so that a condition on the time uses the
# index (TIME_RANGE).
EVENT_SELECT = (
    "SELECT id, timestamp, session_id, command, duration_ms, success, error_category, "
    "template_used, raw_data FROM events_ms"
)
TIME_RANGE = "at_ms >= ? AND at_ms < ?"  # with time_range(since, until) as its parameters
# Rows that only add to counts and a duration bucket (succeeded, no template, no raw data that
# the roll-ups read): folded as groups by SQL, which gives the same figures as one by one.
PLAIN = (
    "success IS 1 AND template_used IS NULL AND (raw_data IS NULL OR "
    "(instr(raw_data, '\"counts\"') = 0 AND instr(raw_data, '\"signals\"') = 0 "
    "AND instr(raw_data, '\"options\"') = 0))"
)
# seen kinds: error (success = 0, key: category), template, port (port_conflict signals),
# rejection (task_rejected, key: reason hash), short (workspace deleted young), age (its age, s)
KINDS_WITH_SESSIONS = frozenset({"error", "rejection", "short"})


@dataclass
class Seen:
    """How often a key was seen, first and last timestamp, and the smallest session ids."""

    n: int
    first: str
    last: str
    sessions: set[str] = field(default_factory=set)

    def add(self, other: Seen) -> None:
        self.n += other.n
        self.first = min(self.first, other.first)
        self.last = max(self.last, other.last)
        self.sessions = set(sorted(self.sessions | other.sessions)[:SESSIONS_KEPT])

    def kept_sessions(self) -> list[str]:
        return sorted(self.sessions)[:SESSIONS_KEPT]


def first_wins(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose repeated keys keep their first value, as SQLite's JSON functions
    read them (so the SQL fold, :mod:`~nexus_cli.telemetry.db.rollup_sql`, agrees)."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        result.setdefault(key, value)
    return result


def sessions_json(sessions: list[str]) -> str:
    """A ``rollup_seen.sessions`` array as SQLite's ``json_group_array`` writes it (characters
    beyond ASCII as they are), so rows folded by Python and by SQL are the same bytes."""
    return json.dumps(sessions, separators=(",", ":"), ensure_ascii=False)


def _parsed(raw: str | None) -> dict[str, Any]:
    if not raw or '"' not in raw:
        return {}
    try:
        data = json.loads(raw, object_pairs_hook=first_wins)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value if isinstance(value, int | float) else None


def _key_text(value: Any) -> str:
    """``str()`` of a JSON value as SQLite's json_extract would hand it to Python."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def bucket_sql(conn: sqlite3.Connection) -> str:
    """SQL for :func:`sketch.bucket` of ``duration_ms``: SQLite's math functions when built in,
    else the Python function registered as ``rollup_bucket``."""
    expression = (
        f"CASE WHEN duration_ms > 0 THEN CAST(ceil(ln(duration_ms) / {sketch.LOG_GAMMA!r}) "
        f"AS INTEGER) WHEN duration_ms IS NOT NULL THEN {sketch.ZERO_BUCKET} END"
    )
    try:
        conn.execute(f"SELECT {expression.replace('duration_ms', '2')}").fetchone()
        return expression
    except sqlite3.OperationalError:  # built without SQLITE_ENABLE_MATH_FUNCTIONS
        conn.create_function("rollup_bucket", 1, _bucket_or_null, deterministic=True)
        return "rollup_bucket(duration_ms)"


def time_range(since: str, until: str) -> list[int]:
    """The parameters of TIME_RANGE for ``since <= timestamp < until`` (timestamp texts)."""
    return [ms_of(since), ms_of(until)]


def _bucket_or_null(value: float | None) -> int | None:
    return None if value is None else sketch.bucket(value)


class Accumulator:
    """Roll-up figures of the events added so far, per UTC day (or all under "" if not by_day)."""

    def __init__(
        self,
        *,
        by_day: bool = True,
        reject: Callable[[dict[str, Any]], str | None] | None = None,
    ) -> None:
        """``reject`` (parsed raw data -> why the event cannot be added, or None) leaves such
        events out, listed in :attr:`rejected` (id -> why)."""
        self._always = classify.INTERACTIVE_COMMANDS
        self._reject = reject
        self.rejected: dict[int, str] = {}
        self.by_day = by_day
        self.day_of: Callable[[str], str] = (lambda ts: ts[:10]) if by_day else (lambda ts: "")
        self.commands: dict[tuple[str, str], list[int]] = {}
        self.durations: dict[tuple[str, str, int], list[Any]] = {}
        self.seen: dict[tuple[str, str, str], Seen] = {}
        self.events = 0

    def add_all(self, rows: Iterable[tuple[Any, ...]]) -> None:
        for row in rows:
            self.add(row)

    def fold(self, conn: sqlite3.Connection, where: str, params: list[Any]) -> None:
        """Add every event of ``events_ms`` matching ``where``: plain ones grouped by SQL, the
        rest one by one."""
        number = day_number_sql("at_ms") if self.by_day else "''"
        day = day_text_sql(number) if self.by_day else "''"  # named once per group
        for group in conn.execute(
            f"SELECT {day}, command, {bucket_sql(conn)} AS b, count(*), {text_sql('min(at_ms)')}, "
            f"{text_sql('max(at_ms)')}, min(session_id), min(duration_ms), max(duration_ms) "
            f"FROM events_ms WHERE ({where}) AND {PLAIN} "
            f"GROUP BY {number}, 2, 3",
            params,
        ):
            self.add_plain(*group)
        self.add_all(conn.execute(f"{EVENT_SELECT} WHERE ({where}) AND NOT ({PLAIN})", params))

    def add_plain(
        self, day: str, command: str | None, index: int | None, n: int, *cell: Any
    ) -> None:
        """``n`` succeeded events of one (day, command, bucket) with no template or raw data."""
        self.events += n
        key = (day, NONE if command is None else command)
        figures = self.commands.get(key)
        if figures is None:
            figures = self.commands[key] = [0, 0, 0, 0, 0]
        figures[0] += n
        figures[1] += n
        if command is None or index is None or command in self._always:
            return
        old = self.durations.get((day, command, index))
        if old is None:
            self.durations[(day, command, index)] = [n, *cell]
        else:
            old[0] += n
            old[1], old[2], old[3] = (
                min(old[1], cell[0]),
                max(old[2], cell[1]),
                min(old[3], cell[2]),
            )
            old[4], old[5] = min(old[4], cell[3]), max(old[5], cell[4])

    def add(self, row: tuple[Any, ...]) -> None:
        _id, ts, session, command, duration, success, category, template, raw = row
        data = _parsed(raw)
        if self._reject is not None and (why := self._reject(data)) is not None:
            self.rejected[_id] = why
            return
        day = self.day_of(ts)
        self.events += 1
        found = data.get("counts")
        counts: dict[str, Any] = found if isinstance(found, dict) else {}
        key = (day, NONE if command is None else command)
        figures = self.commands.get(key)
        if figures is None:
            figures = self.commands[key] = [0, 0, 0, 0, 0]
        figures[0] += 1
        figures[1] += success == 1
        figures[2] += success == 0
        figures[3] += int(_number(counts.get("workspaces_created")) or 0)
        figures[4] += int(_number(counts.get("tasks_completed")) or 0)
        if success == 0:
            self._see(day, "error", NONE if category is None else category, ts, session)
        if template is not None:
            self._see(day, "template", template, ts, session)
        if (
            command is not None
            and duration is not None
            and not classify.is_interactive_data(command, data)
        ):
            self._time(day, command, duration, ts, session)
        signals = data.get("signals")
        if isinstance(signals, list):
            self._signals(day, signals, ts, session)

    def _time(self, day: str, command: str, duration: float, ts: str, session: str) -> None:
        key = (day, command, sketch.bucket(duration))
        cell = self.durations.get(key)
        if cell is None:
            self.durations[key] = [1, ts, ts, session, duration, duration]
            return
        cell[0] += 1
        if ts < cell[1]:
            cell[1] = ts
        if ts > cell[2]:
            cell[2] = ts
        if session < cell[3]:
            cell[3] = session
        if duration < cell[4]:
            cell[4] = duration
        if duration > cell[5]:
            cell[5] = duration

    def _see(self, day: str, kind: str, key: str, ts: str, session: str) -> None:
        seen = self.seen.get((day, kind, key))
        if seen is None:
            seen = self.seen[(day, kind, key)] = Seen(0, ts, ts)
        seen.n += 1
        seen.first, seen.last = min(seen.first, ts), max(seen.last, ts)
        if kind in KINDS_WITH_SESSIONS:
            seen.sessions.add(session)

    def _signals(self, day: str, signals: list[Any], ts: str, session: str) -> None:
        for signal in signals:
            if not isinstance(signal, dict):
                continue
            kind = signal.get("kind")
            if kind == "port_conflict":
                port = signal.get("port")
                if isinstance(port, int):
                    self._see(day, "port", str(int(port)), ts, session)
            elif kind == "task_rejected":
                self._see(day, "rejection", _key_text(signal.get("reason_hash")), ts, session)
            elif kind == "workspace_deleted":
                age = _number(signal.get("age_s"))
                if age is not None and classify.is_short_lived(age):
                    self._see(day, "short", "", ts, session)
                    self._see(day, "age", str(int(age)), ts, session)


RetryRow = tuple[
    int, str, str, str, str | None, str
]  # id, session, failed_at, command, cat, retried_at


def retry_pairs(session: str, events: list[tuple[Any, ...]]) -> list[RetryRow]:
    """Retries in one session: ``events`` are ``(id, ts, command, success, category)`` sorted by
    (timestamp, id). The event after a failure is the first with a later timestamp."""
    found: list[RetryRow] = []
    next_index = len(events)
    for i in range(len(events) - 1, -1, -1):
        if i + 1 < len(events) and events[i + 1][1] > events[i][1]:
            next_index = i + 1
        event_id, ts, command, success, category = events[i][:5]
        if success != 0 or command is None or next_index >= len(events):
            continue
        nxt = events[next_index]
        if nxt[2] != command:
            continue
        gap = datetime.fromisoformat(nxt[1]) - datetime.fromisoformat(ts)
        if gap.total_seconds() <= RETRY_WITHIN_S:
            found.append((event_id, session, ts, command, category, nxt[1]))
    return found
