"""Window figures from the roll-ups: whole UTC days from the tables, partial days from raw events.

A window ``since <= timestamp < until`` (``at_ms`` in the queries: the index's whole
milliseconds) is cut into the whole UTC days it covers, read from the
``rollup_*`` tables, and its partial first and last days, folded from raw events on the fly with
the same :class:`~nexus_cli.telemetry.db.rollup_fold.Accumulator` (one index range each). So
counts are exact at any window edge; only percentiles are approximate (within 1%, see
:mod:`~nexus_cli.telemetry.db.sketch`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from nexus_cli.telemetry.db import rollups
from nexus_cli.telemetry.db.handle import Db
from nexus_cli.telemetry.db.rollup_fold import (
    KINDS_WITH_SESSIONS,
    SESSIONS_KEPT,
    TIME_RANGE,
    Accumulator,
    Seen,
    time_range,
)
from nexus_cli.telemetry.db.schema import day_number_sql, day_text_sql, stamp, text_sql
from nexus_cli.telemetry.query import day_cache
from nexus_cli.telemetry.query.part import Part

DAY_START = " 00:00:00.000"
HOUR_START = ":00:00.000"


@dataclass(frozen=True)
class Span:
    """A window cut into whole days ``[first_day, end_day)`` and raw ``edges``."""

    first_day: str
    end_day: str
    edges: tuple[tuple[str, str], ...]


def _next_day(day: str) -> str | None:
    try:
        return (date.fromisoformat(day) + timedelta(days=1)).isoformat()
    except (OverflowError, ValueError):
        return None


def _empty(db: Db, since: str, until: str) -> bool:
    found = db.execute(
        f"SELECT 1 FROM event_rows WHERE {TIME_RANGE} LIMIT 1", time_range(since, until)
    )
    return found.fetchone() is None


def span(db: Db, since: str, until: str) -> Span:
    """Whole days from the roll-ups; a partial day with no events outside the window (today,
    up to now) counts as whole too, so usually only the window's first day is read raw."""
    day = since[:10]
    whole_first = since[10:] == DAY_START or _empty(db, day + DAY_START, since)
    first = day if whole_first else _next_day(day)
    end = until[:10]
    if until[10:] != DAY_START:
        after = _next_day(end)
        if after is not None and _empty(db, until, after + DAY_START):
            end = after
    if first is None or first >= end:
        return Span("", "", ((since, until),))
    edges = [(since, first + DAY_START), (end + DAY_START, until)]
    return Span(first, end, tuple((a, b) for a, b in edges if a < b))


def _raw(db: Db, since: str, until: str) -> Part:
    acc = Accumulator(by_day=False)
    acc.fold(db.conn, TIME_RANGE, time_range(since, until))
    part = Part()
    part.commands = {cmd: figures for (_, cmd), figures in acc.commands.items()}
    for (_, command, index), cell in acc.durations.items():
        part.durations.setdefault(command, {})[index] = cell
    part.seen = {(kind, key): seen for (_, kind, key), seen in acc.seen.items()}
    return part


def _days(db: Db, first: str, end: str) -> Part:
    """Whole days ``[first, end)``: the past ones through the cache, today from the tables."""
    today = datetime.now(UTC).date().isoformat()
    if end <= today:
        return day_cache.cached(db, "days", first, end, _query_days)
    if first >= today:
        return _query_days(db, first, end)
    return day_cache.cached(db, "days", first, today, _query_days).add(_query_days(db, today, end))


def _query_days(db: Db, first: str, end: str) -> Part:
    part, days = Part(), [first, end]
    for command, *figures in db.execute(
        "SELECT command, sum(n), sum(ok), sum(failed), sum(created), sum(completed) "
        "FROM rollup_commands WHERE day >= ? AND day < ? GROUP BY command",
        days,
    ):
        part.commands[command] = figures
    for command, index, *cell in db.execute(
        f"SELECT command, bucket, sum(n), {text_sql('min(first_ms)')}, "
        f"{text_sql('max(last_ms)')}, min(session_id), min(lo), max(hi) "
        "FROM rollup_durations WHERE day >= ? AND day < ? GROUP BY command, bucket",
        days,
    ):
        part.durations.setdefault(command, {})[index] = cell
    listed = ", ".join(f"'{kind}'" for kind in sorted(KINDS_WITH_SESSIONS))
    for kind, key, n, first_ts, last_ts, sessions in db.execute(
        "SELECT kind, key, sum(n), min(first_ts), max(last_ts), "
        f"CASE WHEN kind IN ({listed}) THEN group_concat(sessions, char(10)) END "
        "FROM rollup_seen WHERE day >= ? AND day < ? GROUP BY kind, key",
        days,
    ):
        ids = {s for text in sessions.split("\n") for s in json.loads(text)} if sessions else ()
        part.seen[(kind, key)] = Seen(n, first_ts, last_ts, set(sorted(ids)[:SESSIONS_KEPT]))
    return part


def _hour(ts: str, *, up: bool) -> str | None:
    """``ts`` rounded to a whole UTC hour (``up`` or down); None past the calendar's ends."""
    try:
        moment = datetime.fromisoformat(ts[:13] + ":00").replace(tzinfo=UTC)
        if up and ts[13:] != HOUR_START:
            moment += timedelta(hours=1)
    except (OverflowError, ValueError):
        return None
    return stamp(moment)


def _edge(db: Db, since: str, until: str) -> Part:
    """A stretch shorter than whole days: its whole hours before today through the cache
    (:func:`day_cache.cached`), the minutes around them from raw events."""
    first, end = _hour(since, up=True), _hour(until, up=False)
    today = datetime.now(UTC).date().isoformat() + DAY_START
    if first is None or end is None or end > today or not since <= first < end <= until:
        return _raw(db, since, until)
    result = day_cache.cached(db, "hours", first, end, _raw)
    for a, b in ((since, first), (end, until)):
        if a < b:
            result.add(_raw(db, a, b))
    return result


def part(db: Db, since: str, until: str) -> Part:
    """Every roll-up figure of ``since <= timestamp < until`` (of the events folded into the
    roll-ups when the database was opened: :func:`nexus_cli.telemetry.db.store.opened`).

    The roll-ups are disposable: when their rows do not parse (a damaged database), they are
    rebuilt from the events and read again."""
    try:
        return _part(db, since, until)
    except (ValueError, TypeError, KeyError):
        rollups.rebuild(db)
        return _part(db, since, until)


def _part(db: Db, since: str, until: str) -> Part:
    cut = span(db, since, until)
    result = _days(db, cut.first_day, cut.end_day) if cut.first_day else Part()
    for a, b in cut.edges:
        result.add(_edge(db, a, b))
    return result


def session_figures(db: Db, since: str, until: str) -> tuple[int, float | None]:
    """Count and mean duration of the ``sessions`` rows active in the window."""
    cut = span(db, since, until)
    parts = ["SELECT session_id FROM rollup_sessions WHERE day >= ? AND day < ?"]
    params: list[str | int] = [cut.first_day, cut.end_day]
    for a, b in cut.edges:
        parts.append(f"SELECT session_id FROM events_ms WHERE {TIME_RANGE}")
        params += time_range(a, b)
    count, avg = db.execute(
        "SELECT count(*), avg(duration_ms) FROM sessions WHERE session_id IN "
        f"({' UNION '.join(parts)})",
        params,
    ).fetchone()
    return count, avg


def per_day(db: Db, since: str, until: str) -> dict[str, tuple[int, int]]:
    """Invocations and failures per UTC day of the window."""
    cut = span(db, since, until)
    counts = {
        day: (n, failed)
        for day, n, failed in db.execute(
            "SELECT day, sum(n), sum(failed) FROM rollup_commands WHERE day >= ? AND day < ? "
            "GROUP BY day",
            [cut.first_day, cut.end_day],
        )
    }
    for a, b in cut.edges:
        for day, n, failed in db.execute(
            f"SELECT {day_text_sql(day_number_sql('at_ms'))}, count(*), "
            f"coalesce(sum(success = 0), 0) FROM event_rows WHERE {TIME_RANGE} "
            f"GROUP BY {day_number_sql('at_ms')}",
            time_range(a, b),
        ):
            old = counts.get(day, (0, 0))
            counts[day] = (old[0] + n, old[1] + failed)
    return counts


def slow_runs(part: Part, command: str, at_least: int) -> tuple[int, str, str, list[str]] | None:
    """Runs of ``command`` in buckets whose largest value reaches ``at_least`` ms: count, first,
    last, sessions. Exact but for the one bucket (1% wide) that may straddle ``at_least``."""
    cells = [cell for cell in part.durations.get(command, {}).values() if cell[5] >= at_least]
    if not cells:
        return None
    sessions = sorted({c[3] for c in cells})[:SESSIONS_KEPT]
    return sum(c[0] for c in cells), min(c[1] for c in cells), max(c[2] for c in cells), sessions
