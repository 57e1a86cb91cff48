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

from nexus_cli.telemetry import retention, suggestions
from nexus_cli.telemetry.stats import durations_by_command, percentile, where
from nexus_cli.telemetry.window import Window, stamp

if TYPE_CHECKING:
    from sqlite_utils import Database

DEFAULT_SLOW_P95_MS = 2000
GROWTH_RATIO = 1.5
MIN_RUNS = 5
MIN_REPEATS = 3
RETRY_WITHIN_S = 120
SHORT_LIVED_S = 600
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


def _split(window: Window) -> tuple[Window, Window]:
    start, end = datetime.fromisoformat(window.since), datetime.fromisoformat(window.until)
    middle = stamp(end - (end - start) / 4)  # the most recent quarter vs the rest
    return Window(window.since, middle, "earlier"), Window(middle, window.until, "recent")


def _seen(db: Database, clause: str, params: list[Any]) -> tuple[int, str, str, list[str]]:
    count, first, last = db.execute(
        f"SELECT count(*), min(timestamp), max(timestamp) FROM events WHERE {clause}", params
    ).fetchone()
    sessions = [
        r[0]
        for r in db.execute(
            f"SELECT DISTINCT session_id FROM events WHERE {clause} LIMIT {MAX_SESSIONS}", params
        )
    ]
    return count, first, last, sessions


def detect_slow(db: Database, window: Window, threshold: int) -> list[Pattern]:
    earlier, recent = _split(window)
    before, after = durations_by_command(db, earlier), durations_by_command(db, recent)
    found = []
    for command in sorted(set(before) | set(after)):
        values = sorted(before.get(command, []) + after.get(command, []))
        p95, p50 = percentile(values, 0.95), percentile(values, 0.5)
        old, new = (
            percentile(before.get(command, []), 0.95),
            percentile(after.get(command, []), 0.95),
        )
        growth = (new / old) if old and new and len(after.get(command, [])) >= MIN_RUNS else None
        if len(values) < MIN_RUNS or p95 is None:
            continue
        growing = growth is not None and growth >= GROWTH_RATIO and (new or 0) >= threshold / 2
        if p95 < threshold and not growing:
            continue
        clause, params = where(window)
        count, first, last, sessions = _seen(
            db, f"{clause} AND command = ? AND duration_ms >= ?", [*params, command, threshold // 2]
        )
        text = f"'{command}' p95 is {p95} ms (median {p50} ms) over {len(values)} runs"
        if growth is not None:
            text += f"; p95 went from {old} ms to {new} ms ({growth:.1f}x) in the recent quarter"
        found.append(
            Pattern(
                "slow_command",
                f"slow:{command}",
                text,
                count or len(values),
                first or window.since,
                last or window.until,
                suggestions.for_slow_command(command, p95, p50),
                sessions,
            )
        )
    return found


def _signals(db: Database, window: Window) -> dict[str, list[dict[str, Any]]]:
    clause, params = where(window)
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for ts, session, raw in db.execute(
        f"SELECT timestamp, session_id, raw_data FROM events WHERE {clause} "
        "AND raw_data LIKE '%\"signals\"%'",
        params,
    ):
        for sig in json.loads(raw).get("signals", []):
            if isinstance(sig, dict):
                by_kind[str(sig.get("kind"))].append({**sig, "_ts": ts, "_session": session})
    return by_kind


def detect_errors(db: Database, window: Window, ports: Counter[int]) -> list[Pattern]:
    clause, params = where(window)
    found = []
    for category, count, first, last in db.execute(
        f"SELECT error_category, count(*), min(timestamp), max(timestamp) FROM events "
        f"WHERE {clause} AND success = 0 AND error_category IS NOT NULL "
        "GROUP BY error_category HAVING count(*) >= ? ORDER BY count(*) DESC",
        [*params, MIN_REPEATS],
    ).fetchall():
        _, _, _, sessions = _seen(
            db, f"{clause} AND success = 0 AND error_category = ?", [*params, category]
        )
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


def _from_signals(
    kind_rows: list[dict[str, Any]], pattern_type: str, key: str, text: str, fix: str
) -> Pattern:
    stamps = sorted(r["_ts"] for r in kind_rows)
    sessions = list(dict.fromkeys(r["_session"] for r in kind_rows))[:MAX_SESSIONS]
    return Pattern(pattern_type, key, text, len(kind_rows), stamps[0], stamps[-1], fix, sessions)


def detect_rejections(signals: dict[str, list[dict[str, Any]]]) -> list[Pattern]:
    by_reason: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for sig in signals.get("task_rejected", []):
        by_reason[str(sig.get("reason_hash"))].append(sig)
    return [
        _from_signals(
            rows,
            "repeated_rejection",
            f"rejection:{reason[:16]}",
            f"tasks were rejected {len(rows)} times for the same reason (reason {reason[:8]})",
            suggestions.REJECTION_FIX,
        )
        for reason, rows in sorted(by_reason.items(), key=lambda kv: -len(kv[1]))
        if len(rows) >= 2
    ]


def detect_short_lived(signals: dict[str, list[dict[str, Any]]]) -> list[Pattern]:
    quick = [
        s
        for s in signals.get("workspace_deleted", [])
        if isinstance(s.get("age_s"), int | float) and s["age_s"] < SHORT_LIVED_S
    ]
    if len(quick) < 2:
        return []
    ages = sorted(int(s["age_s"]) for s in quick)
    text = (
        f"{len(quick)} workspaces were deleted within {SHORT_LIVED_S // 60} minutes of "
        f"creation (median age {percentile(ages, 0.5)} s)"
    )
    return [
        _from_signals(
            quick,
            "short_lived_workspace",
            "short_lived_workspace",
            text,
            suggestions.SHORT_LIVED_FIX,
        )
    ]


def detect_retries(db: Database, window: Window) -> list[Pattern]:
    clause, params = where(window)
    last: dict[str, tuple[str, str, int, str | None]] = {}
    hits: dict[str, list[tuple[str, str, str | None]]] = defaultdict(list)
    limit = timedelta(seconds=RETRY_WITHIN_S)
    for ts, session, command, success, category in db.execute(
        f"SELECT timestamp, session_id, command, success, error_category FROM events "
        f"WHERE {clause} ORDER BY timestamp",
        params,
    ):
        prev = last.get(session)
        if (
            prev
            and prev[2] == 0
            and prev[1] == command
            and command
            and (datetime.fromisoformat(ts) - datetime.fromisoformat(prev[0]) <= limit)
        ):
            hits[command].append((ts, session, prev[3]))
        last[session] = (ts, command, success, category)
    found = []
    for command, rows in sorted(hits.items(), key=lambda kv: -len(kv[1])):
        if len(rows) < MIN_REPEATS:
            continue
        top = Counter(r[2] for r in rows).most_common(1)[0][0]
        found.append(
            Pattern(
                "retry_after_failure",
                f"retry:{command}",
                f"'{command}' was rerun within {RETRY_WITHIN_S} s of failing {len(rows)} times",
                len(rows),
                rows[0][0],
                rows[-1][0],
                suggestions.for_retry(command, top),
                list(dict.fromkeys(r[1] for r in rows))[:MAX_SESSIONS],
            )
        )
    return found


def detect(db: Database, window: Window, threshold: int | None = None) -> list[Pattern]:
    """Run every detector over ``window``."""
    signals = _signals(db, window)
    ports = Counter(
        int(s["port"]) for s in signals.get("port_conflict", []) if isinstance(s.get("port"), int)
    )
    return [
        *detect_slow(db, window, threshold or slow_threshold_ms()),
        *detect_errors(db, window, ports),
        *detect_rejections(signals),
        *detect_short_lived(signals),
        *detect_retries(db, window),
    ]


def save(db: Database, patterns: list[Pattern]) -> None:
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


def run(db: Database, window: Window, groups: set[str] | None = None) -> list[dict[str, Any]]:
    """Detect, store, and return the patterns (optionally only some groups) as dicts."""
    patterns = detect(db, window)
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
