"""What the dashboard shows (terminal and HTML): one dict gathered from the telemetry database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from nexus_cli.telemetry.db.schema import stamp
from nexus_cli.telemetry.query import aggregate, insights, insights_rolled, stats
from nexus_cli.telemetry.query.patterns import slow_threshold_ms, split_point
from nexus_cli.telemetry.query.window import Window

if TYPE_CHECKING:
    from nexus_cli.telemetry.db.handle import Db


def _per_day(db: Db, since: str, until: str, days: int) -> list[dict[str, Any]]:
    counts = aggregate.per_day(db, since, until)
    today = datetime.now(UTC).date()
    result = []
    for offset in range(days - 1, -1, -1):
        day = (today - timedelta(days=offset)).isoformat()
        n, errors = counts.get(day, (0, 0))
        result.append({"day": day, "invocations": n, "errors": errors})
    return result


def window_of(days: int) -> Window:
    """The dashboard's window: from the start (UTC) of the first of the last ``days`` days to
    now (the agent cost view reads the same window)."""
    now = datetime.now(UTC)
    first_day = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return Window(stamp(first_day), stamp(now + timedelta(seconds=1)), f"last {days} days")


def collect(db: Db, days: int, *, exact: bool = False) -> dict[str, Any]:
    """Figures, per-day counts, timings per command and current insights for the last ``days``.

    From the roll-ups (percentiles within 1%) unless ``exact``.
    """
    window = window_of(days)
    if exact:
        halves = stats.split_durations(db, window, split_point(window))
        figures = stats.compute(db, window, durations=stats.merged(halves))
        patterns = insights.run(db, window, halves=halves)
    else:
        parts = insights_rolled.halves(db, window)
        figures = stats.compute(db, window, part=insights_rolled.whole(parts))
        found = insights_rolled.detect(db, window, slow_threshold_ms(), parts)
        patterns = insights.run(db, window, patterns=found)
    return {
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "days": days,
        "stats": figures,
        "per_day": _per_day(db, window.since, window.until, days),
        "timings": [c for c in figures["commands"] if c["p95_ms"] is not None][:12],
        "insights": patterns,
    }
