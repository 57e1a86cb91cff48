"""The insights detectors fed from the roll-ups instead of raw events (the default path).

Same patterns, texts and thresholds as :mod:`nexus_cli.telemetry.query.insights_exact` (both
build them with :mod:`nexus_cli.telemetry.query.patterns`); the figures come from :mod:`nexus_cli.telemetry.query.aggregate`. Differences, all
documented in docs/telemetry.md: percentiles are within 1%; a slow command's runs "at or above
half the threshold" are counted by duration bucket (runs up to 2% below may count); and the
sessions listed with a pattern are a sample of up to 20 of its sessions.
"""

from __future__ import annotations

from collections import Counter

from nexus_cli.telemetry.db.handle import Db
from nexus_cli.telemetry.db.rollup_fold import NONE
from nexus_cli.telemetry.query import aggregate, patterns, retries
from nexus_cli.telemetry.query.part import Part
from nexus_cli.telemetry.query.patterns import Pattern
from nexus_cli.telemetry.query.window import Window


def halves(db: Db, window: Window) -> tuple[Part, Part]:
    """Roll-up figures before and after :func:`patterns.split_point`."""
    split = patterns.split_point(window)
    return aggregate.part(db, window.since, split), aggregate.part(db, split, window.until)


def whole(parts: tuple[Part, Part]) -> Part:
    return Part().add(parts[0]).add(parts[1])


def detect_slow(
    window: Window, threshold: int, parts: tuple[Part, Part], all_: Part
) -> list[Pattern]:
    before, after = parts
    slow: dict[str, str] = {}
    for command in sorted(set(before.durations) | set(after.durations)):
        figures = {
            "p95": all_.percentile(command, 0.95),
            "p50": all_.percentile(command, 0.5),
            "old": before.percentile(command, 0.95),
            "new": after.percentile(command, 0.95),
        }
        runs, late = all_.runs(command), after.runs(command)
        text = patterns.slow_text(command, runs, late, figures, threshold)
        if text is not None:
            slow[command] = text
    seen = {}
    for command in slow:
        found = aggregate.slow_runs(all_, command, threshold // 2)
        if found is not None:
            seen[command] = found
    return patterns.slow_patterns(window, slow, seen)


def _short_lived(all_: Part) -> list[Pattern]:
    short = all_.seen.get(("short", ""))
    if short is None:
        return []
    ages = sorted((int(key), s.n) for key, s in all_.kind("age").items())
    total, rank, median = sum(n for _, n in ages), 0, None
    target = max(1, -(-total // 2))  # nearest rank of the median
    for age, n in ages:
        rank += n
        if rank >= target:
            median = age
            break
    seen = (short.n, short.first, short.last, short.kept_sessions())
    return patterns.short_lived_patterns(seen, median)


def detect(
    db: Db, window: Window, threshold: int, parts: tuple[Part, Part] | None = None
) -> list[Pattern]:
    """Every detector over ``window`` from the roll-ups (``parts``: :func:`halves`)."""
    parts = parts or halves(db, window)
    all_ = whole(parts)
    ports = Counter({int(port): s.n for port, s in all_.kind("port").items()})
    errors = {
        category: (s.n, s.first, s.last, s.kept_sessions())
        for category, s in all_.kind("error").items()
        if category != NONE
    }
    rejections = {
        reason: (s.n, s.first, s.last, s.kept_sessions())
        for reason, s in all_.kind("rejection").items()
    }
    return [
        *detect_slow(window, threshold, parts, all_),
        *patterns.error_patterns(errors, ports),
        *patterns.rejection_patterns(rejections),
        *_short_lived(all_),
        *patterns.retried_patterns(retries.retries(db, window.since, window.until)),
    ]
