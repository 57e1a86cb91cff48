"""``nexus insights``: detect patterns in a window and keep them in the ``patterns`` table.

Detectors: slow commands (p95 over a threshold, or growing), recurring error categories, tasks
rejected repeatedly for the same reason, workspaces deleted soon after creation, and commands
retried right after a failure. Each :class:`Pattern` carries a concrete suggested fix.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from nexus_cli.telemetry.read import suggestions
from nexus_cli.telemetry.read.stats import Durations, percentile, split_durations, where
from nexus_cli.telemetry.read.window import Window, stamp
from nexus_cli.telemetry.show.report import human_ms
from nexus_cli.telemetry.store import retention
from nexus_cli.telemetry.store.rollup_fold import RETRY_WITHIN_S, SHORT_LIVED_S

if TYPE_CHECKING:
    from nexus_cli.telemetry.store.store import Db

DEFAULT_SLOW_P95_MS = 2000
GROWTH_RATIO = 1.5
MIN_RUNS = 5
MIN_REPEATS = 3
MAX_SESSIONS = 20
GROUPS = {
    "slow_command": "slow",
    "recurring_error": "errors",
    "retry_after_failure": "errors",
    "repeated_rejection": "improvements",
    "short_lived_workspace": "improvements",
}


@dataclass
class Pattern:
    pattern_type: str
    key: str
    description: str
    frequency: int
    first_seen: str
    last_seen: str
    suggested_fix: str
    sessions: list[str] = field(default_factory=list)

    @property
    def group(self) -> str:
        return GROUPS[self.pattern_type]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "group": self.group}


def slow_threshold_ms() -> int:
    value = retention.read_config().get("telemetry", {}).get("slow_p95_ms", DEFAULT_SLOW_P95_MS)
    return int(value) if isinstance(value, int) and value > 0 else DEFAULT_SLOW_P95_MS


def split_point(window: Window) -> str:
    """Where "recent" starts: the most recent quarter of the window, compared with the rest."""
    start, end = datetime.fromisoformat(window.since), datetime.fromisoformat(window.until)
    return stamp(end - (end - start) / 4)


Seen = tuple[int, str, str, list[str]]  # count, first and last timestamp, session ids


def _seen_by(db: Db, key: str, clause: str, params: list[Any]) -> dict[str, Seen]:
    """Per ``key`` value: count, first and last timestamp, and up to 20 session ids (one scan)."""
    found: dict[str, Seen] = {}
    for value, session, n, first, last in db.execute(
        f"SELECT {key}, session_id, count(*), min(timestamp), max(timestamp) FROM events "
        f"WHERE {clause} GROUP BY {key}, session_id",
        params,
    ):
        count, lo, hi, sessions = found.get(value, (0, first, last, []))
        if len(sessions) < MAX_SESSIONS:
            sessions.append(session)
        found[value] = (count + n, min(lo, first), max(hi, last), sessions)
    return found


def slow_text(
    command: str, runs: int, late_runs: int, p: dict[str, int | None], threshold: int
) -> str | None:
    """Description and fix (joined by NUL) of a slow command, or None when it is not slow.

    ``p`` holds ``p50``/``p95`` over the window and ``old``/``new``: p95 before and after the split.
    """
    p95, p50, old, new = p["p95"], p["p50"], p["old"], p["new"]
    growth = (new / old) if old and new and late_runs >= MIN_RUNS else None
    growing = growth is not None and growth >= GROWTH_RATIO and (new or 0) >= threshold / 2
    if runs < MIN_RUNS or p95 is None or (p95 < threshold and not growing):
        return None
    text = f"'{command}' p95 is {human_ms(p95)} (median {human_ms(p50)}) over {runs} runs"
    if growing:
        text += f"; p95 grew from {human_ms(old)} to {human_ms(new)} ({growth:.1f}x) recently"
    return text + "\0" + suggestions.for_slow_command(command, p95, p50)


def slow_patterns(window: Window, slow: dict[str, str], seen: dict[str, Seen]) -> list[Pattern]:
    found = []
    for command, text in slow.items():
        description, fix = text.split("\0")
        count, first, last, sessions = seen.get(command, (0, window.since, window.until, []))
        found.append(
            Pattern(
                "slow_command", f"slow:{command}", description, count, first, last, fix, sessions
            )
        )
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
        f"SELECT {fields} FROM events, json_each(events.raw_data, '$.signals') AS sig "
        f"WHERE {clause} AND raw_data LIKE ? AND json_extract(sig.value, '$.kind') = ? {tail}",
        [*params, f'%"{kind}"%', kind],
    ).fetchall()


def _ports(db: Db, window: Window) -> Counter[int]:
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


def error_patterns(seen: dict[str, Seen], ports: Counter[int]) -> list[Pattern]:
    found = []
    for category, (count, first, last, sessions) in sorted(seen.items(), key=lambda kv: -kv[1][0]):
        if count < MIN_REPEATS:
            continue
        fix = (
            suggestions.for_port_conflict(ports)
            if category == "port_conflict"
            else suggestions.for_error(category)
        )
        found.append(
            Pattern(
                "recurring_error",
                f"error:{category}",
                f"'{category}' errors happened {count} times in {len(sessions)}"
                f"{'+' if len(sessions) == MAX_SESSIONS else ''} session(s)",
                count,
                first,
                last,
                fix,
                sessions,
            )
        )
    return found


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


def rejection_patterns(by_reason: dict[str, Seen]) -> list[Pattern]:
    return [
        Pattern(
            "repeated_rejection",
            f"rejection:{reason[:16]}",
            f"tasks were rejected {seen[0]} times for the same reason (reason {reason[:8]})",
            seen[0],
            seen[1],
            seen[2],
            suggestions.REJECTION_FIX,
            seen[3],
        )
        for reason, seen in sorted(by_reason.items(), key=lambda kv: -kv[1][0])
        if seen[0] >= 2
    ]


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


def short_lived_patterns(seen: Seen, median_age: int | None) -> list[Pattern]:
    count, first, last, sessions = seen
    if count < 2:
        return []
    text = (
        f"{count} workspaces were deleted within {SHORT_LIVED_S // 60} minutes of "
        f"creation (median age {median_age} s)"
    )
    return [
        Pattern(
            "short_lived_workspace",
            "short_lived_workspace",
            text,
            count,
            first,
            last,
            suggestions.SHORT_LIVED_FIX,
            sessions,
        )
    ]


def detect_retries(db: Db, window: Window) -> list[Pattern]:
    """Failures followed, in the same session, by the same command within RETRY_WITHIN_S."""
    clause, params = where(window)
    hits = []
    limit = timedelta(seconds=RETRY_WITHIN_S)
    for ts, session, command, category, next_command, next_ts in db.execute(
        "SELECT f.timestamp, f.session_id, f.command, f.error_category, n.command, n.timestamp "
        "FROM events AS f JOIN events AS n ON n.id = (SELECT id FROM events "
        "WHERE session_id = f.session_id AND timestamp > f.timestamp ORDER BY timestamp LIMIT 1) "
        f"WHERE {clause.replace('timestamp', 'f.timestamp')} AND f.success = 0 "
        "AND f.command IS NOT NULL ORDER BY f.timestamp",
        params,
    ):
        if next_command == command and (
            datetime.fromisoformat(next_ts) - datetime.fromisoformat(ts) <= limit
        ):
            hits.append((ts, session, command, category, next_ts))
    return retry_patterns(hits)


# count, first and last retried_at (by failure time), sessions in failure order, top category
Retried = tuple[int, str, str, list[str], str | None]


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


def retried_patterns(by_command: dict[str, Retried]) -> list[Pattern]:
    """``by_command`` in the order of each command's first failure."""
    found = []
    for command, (count, first, last, sessions, top) in sorted(
        by_command.items(), key=lambda kv: -kv[1][0]
    ):
        if count < MIN_REPEATS:
            continue
        found.append(
            Pattern(
                "retry_after_failure",
                f"retry:{command}",
                f"'{command}' was rerun within {RETRY_WITHIN_S} s of failing {count} times",
                count,
                first,
                last,
                suggestions.for_retry(command, top),
                sessions,
            )
        )
    return found


def detect(
    db: Db,
    window: Window,
    threshold: int | None = None,
    halves: tuple[Durations, Durations] | None = None,
    *,
    exact: bool = False,
) -> list[Pattern]:
    """Run every detector over ``window`` (``halves``: durations split at :func:`split_point`).

    From the roll-ups unless ``exact`` (or ``halves``) is given: then from raw events.
    """
    if not exact and halves is None:
        from nexus_cli.telemetry.read import insights_rolled

        return insights_rolled.detect(db, window, threshold or slow_threshold_ms())
    halves = halves or split_durations(db, window, split_point(window))
    return [
        *detect_slow(db, window, threshold or slow_threshold_ms(), halves),
        *detect_errors(db, window, _ports(db, window)),
        *detect_rejections(db, window),
        *detect_short_lived(db, window),
        *detect_retries(db, window),
    ]


def save(db: Db, patterns: list[Pattern]) -> None:
    """Upsert by key: the earliest first_seen and the latest last_seen are kept."""
    with db.atomic():
        for p in patterns:
            db.execute(
                "INSERT INTO patterns (pattern_key, pattern_group, pattern_type, description, "
                "frequency, first_seen, last_seen, affected_sessions, suggested_fix) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (pattern_key) DO UPDATE SET "
                "description = excluded.description, frequency = excluded.frequency, "
                "first_seen = min(first_seen, excluded.first_seen), "
                "last_seen = max(last_seen, excluded.last_seen), "
                "affected_sessions = excluded.affected_sessions, "
                "suggested_fix = excluded.suggested_fix",
                [
                    p.key,
                    p.group,
                    p.pattern_type,
                    p.description,
                    p.frequency,
                    p.first_seen,
                    p.last_seen,
                    json.dumps(p.sessions),
                    p.suggested_fix,
                ],
            )


def run(
    db: Db,
    window: Window,
    groups: set[str] | None = None,
    halves: tuple[Durations, Durations] | None = None,
    *,
    exact: bool = False,
    patterns: list[Pattern] | None = None,
) -> list[dict[str, Any]]:
    """Detect (unless ``patterns`` are given), store, and return them (optionally only some
    groups) as dicts."""
    if patterns is None:
        patterns = detect(db, window, halves=halves, exact=exact)
    save(db, patterns)
    stored = {
        r[0]: r[1]
        for r in db.execute(
            "SELECT pattern_key, first_seen FROM patterns WHERE pattern_key IS NOT NULL"
        )
    }
    result = []
    for p in patterns:
        if groups and p.group not in groups:
            continue
        item = p.to_dict()
        item["first_seen"] = stored.get(p.key, p.first_seen)
        result.append(item)
    return result
