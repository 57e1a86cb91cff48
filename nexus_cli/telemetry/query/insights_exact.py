"""The insights detectors over raw events (``--exact``): the same patterns as the roll-ups give,
with exact percentiles and counts; patterns are built by :mod:`nexus_cli.telemetry.query.patterns`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from nexus_cli.telemetry.db.classify import RETRY_WITHIN_S, SHORT_LIVED_S
from nexus_cli.telemetry.db.handle import Db
from nexus_cli.telemetry.db.schema import text_sql
from nexus_cli.telemetry.query.patterns import (
    MAX_SESSIONS,
    Pattern,
    Seen,
    error_patterns,
    rejection_patterns,
    retried_patterns,
    short_lived_patterns,
    slow_patterns,
    slow_text,
)
from nexus_cli.telemetry.query.stats import Durations, percentile, where
from nexus_cli.telemetry.query.window import Window


def _seen_by(db: Db, key: str, clause: str, params: list[Any]) -> dict[str, Seen]:
    """Per ``key`` value: count, first and last timestamp, and up to 20 session ids (one scan)."""
    found: dict[str, Seen] = {}
    for value, session, n, first, last in db.execute(
        f"SELECT {key}, session_id, count(*), {text_sql('min(at_ms)')}, "
        f"{text_sql('max(at_ms)')} FROM events_ms "
        f"WHERE {clause} GROUP BY {key}, session_id",
        params,
    ):
        count, lo, hi, sessions = found.get(value, (0, first, last, []))
        if len(sessions) < MAX_SESSIONS:
            sessions.append(session)
        found[value] = (count + n, min(lo, first), max(hi, last), sessions)
    return found


def detect_slow(
    db: Db, window: Window, threshold: int, halves: tuple[Durations, Durations]
) -> list[Pattern]:
    before, after = halves
    slow: dict[str, str] = {}
    for command in sorted(set(before) | set(after)):
        early, late = before.get(command, []), after.get(command, [])
        values = sorted(early + late)
        figures = {
            "p95": percentile(values, 0.95),
            "p50": percentile(values, 0.5),
            "old": percentile(early, 0.95),
            "new": percentile(late, 0.95),
        }
        text = slow_text(command, len(values), len(late), figures, threshold)
        if text is not None:
            slow[command] = text
    if not slow:
        return []
    clause, params = where(window)
    marks = ", ".join("?" for _ in slow)
    seen = _seen_by(
        db,
        "command",
        f"{clause} AND command IN ({marks}) AND duration_ms >= ?",
        [*params, *slow, threshold // 2],
    )
    return slow_patterns(window, slow, seen)


def _signal_rows(db: Db, window: Window, kind: str, fields: str, tail: str = "") -> list[Any]:
    clause, params = where(window)
    return db.execute(
        f"SELECT {fields} FROM events_ms AS events, json_each(events.raw_data, '$.signals') AS sig "
        f"WHERE {clause} AND raw_data LIKE ? AND json_extract(sig.value, '$.kind') = ? {tail}",
        [*params, f'%"{kind}"%', kind],
    ).fetchall()


def ports(db: Db, window: Window) -> Counter[int]:
    rows = _signal_rows(
        db,
        window,
        "port_conflict",
        "json_extract(sig.value, '$.port') AS port, count(*)",
        "GROUP BY port",
    )
    return Counter({int(port): n for port, n in rows if isinstance(port, int)})


def detect_errors(db: Db, window: Window, ports: Counter[int]) -> list[Pattern]:
    clause, params = where(window)
    seen = _seen_by(
        db, "error_category", f"{clause} AND success = 0 AND error_category IS NOT NULL", params
    )
    return error_patterns(seen, ports)


def _seen_of_rows(rows: list[Any]) -> Seen:
    """``rows`` are ``(timestamp, session_id, ...)`` in any order."""
    stamps = sorted(r[0] for r in rows)
    sessions = list(dict.fromkeys(r[1] for r in rows))[:MAX_SESSIONS]
    return len(rows), stamps[0], stamps[-1], sessions


def detect_rejections(db: Db, window: Window) -> list[Pattern]:
    by_reason: dict[str, list[Any]] = defaultdict(list)
    for row in _signal_rows(
        db,
        window,
        "task_rejected",
        "timestamp, session_id, json_extract(sig.value, '$.reason_hash')",
    ):
        by_reason[str(row[2])].append(row)
    return rejection_patterns({k: _seen_of_rows(rows) for k, rows in by_reason.items()})


def detect_short_lived(db: Db, window: Window) -> list[Pattern]:
    quick = [
        r
        for r in _signal_rows(
            db,
            window,
            "workspace_deleted",
            "timestamp, session_id, json_extract(sig.value, '$.age_s')",
        )
        if isinstance(r[2], int | float) and r[2] < SHORT_LIVED_S
    ]
    if len(quick) < 2:
        return []
    ages = sorted(int(r[2]) for r in quick)
    return short_lived_patterns(_seen_of_rows(quick), percentile(ages, 0.5))


def detect_retries(db: Db, window: Window) -> list[Pattern]:
    """Failures followed, in the same session, by the same command within RETRY_WITHIN_S."""
    clause, params = where(window)
    hits = []
    limit = timedelta(seconds=RETRY_WITHIN_S)
    for ts, session, command, category, next_command, next_ts in db.execute(
        "SELECT f.timestamp, f.session_id, f.command, f.error_category, n.command, n.timestamp "
        "FROM events_ms AS f JOIN events_ms AS n ON n.id = (SELECT id FROM events_ms "
        f"WHERE at_ms > f.at_ms AND at_ms <= f.at_ms + {RETRY_WITHIN_S * 1000} "
        "AND session_id = f.session_id ORDER BY at_ms LIMIT 1) "
        f"WHERE {clause.replace('at_ms', 'f.at_ms')} AND f.success = 0 "
        "AND f.command IS NOT NULL ORDER BY f.at_ms",
        params,
    ):
        if next_command == command and (
            datetime.fromisoformat(next_ts) - datetime.fromisoformat(ts) <= limit
        ):
            hits.append((ts, session, command, category, next_ts))
    return retry_patterns(hits)


def retry_patterns(hits: list[tuple[Any, ...]]) -> list[Pattern]:
    """``hits``: ``(failed_at, session, command, category, retried_at)`` by failure time."""
    by_command: dict[str, list[tuple[str, str, str | None]]] = defaultdict(list)
    for _ts, session, command, category, next_ts in hits:
        by_command[command].append((next_ts, session, category))
    return retried_patterns(
        {
            command: (
                len(rows),
                rows[0][0],
                rows[-1][0],
                list(dict.fromkeys(r[1] for r in rows))[:MAX_SESSIONS],
                Counter(r[2] for r in rows).most_common(1)[0][0],
            )
            for command, rows in by_command.items()
        }
    )
