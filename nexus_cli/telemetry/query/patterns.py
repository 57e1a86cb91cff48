"""The insights patterns: what each detector reports, its texts, thresholds and suggested fixes.

:mod:`~nexus_cli.telemetry.query.insights` runs the detectors and keeps what they find in the
``patterns`` table; the figures come from the roll-ups
(:mod:`~nexus_cli.telemetry.query.insights_rolled`) or from raw events
(:mod:`~nexus_cli.telemetry.query.insights_exact`), and both build their patterns here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from nexus_cli.telemetry.db import retention
from nexus_cli.telemetry.db.classify import RETRY_WITHIN_S, SHORT_LIVED_S
from nexus_cli.telemetry.db.schema import stamp
from nexus_cli.telemetry.query import suggestions
from nexus_cli.telemetry.query.durations import human_ms
from nexus_cli.telemetry.query.window import Window

DEFAULT_SLOW_P95_MS = 2000
GROWTH_RATIO = 1.5
MIN_RUNS = 5
MIN_REPEATS = 3
# Error categories that are not a cause to fix: the reader of the output went away (`nexus ... | head`).
NOT_TO_FIX = frozenset({"pipe_closed"})
MAX_SESSIONS = 20
WHOLE_DAY_SPLIT = timedelta(days=4)  # a quarter of it is a day or more
GROUPS = {
    "slow_command": "slow",
    "recurring_error": "errors",
    "retry_after_failure": "errors",
    "repeated_rejection": "improvements",
    "short_lived_workspace": "improvements",
    # from the task history (nexus_cli/tasks/history_insights.py), not stored in `patterns`
    "gate_fails_first_try": "errors",
    "flaky_gate": "errors",
    "slow_gate": "slow",
    "stage_iterations": "improvements",
    "workflow_duration": "slow",
    "incident_resolution": "improvements",
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
    """Where "recent" starts: the most recent quarter of the window, compared with the rest.

    In a window of :data:`WHOLE_DAY_SPLIT` or more the split is rounded to the nearest UTC
    midnight, so that both sides read whole days from the roll-ups instead of folding the raw
    events of the day it falls in.
    """
    start, end = (
        datetime.fromisoformat(t).replace(tzinfo=UTC) for t in (window.since, window.until)
    )
    split = end - (end - start) / 4
    if end - start >= WHOLE_DAY_SPLIT:
        split = datetime.combine((split + timedelta(hours=12)).date(), time(), UTC)
    return stamp(split)


Seen = tuple[int, str, str, list[str]]  # count, first and last timestamp, session ids


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


def error_patterns(seen: dict[str, Seen], ports: Counter[int]) -> list[Pattern]:
    found = []
    for category, (count, first, last, sessions) in sorted(seen.items(), key=lambda kv: -kv[1][0]):
        if count < MIN_REPEATS or category in NOT_TO_FIX:
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
                f"{'+' if len(sessions) == MAX_SESSIONS else ''} "
                f"{'session' if len(sessions) == 1 else 'sessions'}",
                count,
                first,
                last,
                fix,
                sessions,
            )
        )
    return found


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


def short_lived_patterns(seen: Seen, median_age: int | None) -> list[Pattern]:
    count, first, last, sessions = seen
    if count < 2:
        return []
    text = (
        f"{count} workspaces were deleted within {SHORT_LIVED_S // 60} minutes of "
        f"creation (median age {human_ms((median_age or 0) * 1000)})"
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


# count, first and last retried_at (by failure time), sessions in failure order, top category
Retried = tuple[int, str, str, list[str], str | None]


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
                f"'{command}' was rerun within {RETRY_WITHIN_S // 60} minutes of failing {count} times",
                count,
                first,
                last,
                suggestions.for_retry(command, top),
                sessions,
            )
        )
    return found
