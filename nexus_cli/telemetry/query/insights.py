"""``nexus insights``: detect patterns in a window and keep them in the ``patterns`` table.

The patterns, their texts and thresholds live in :mod:`~nexus_cli.telemetry.query.patterns`;
their figures come from the roll-ups (:mod:`~nexus_cli.telemetry.query.insights_rolled`, the
default) or from raw events (:mod:`~nexus_cli.telemetry.query.insights_exact`, ``--exact``).

Detectors: slow commands (p95 over a threshold, or growing), recurring error categories, tasks
rejected repeatedly for the same reason, workspaces deleted soon after creation, and commands
retried right after a failure. Each :class:`~nexus_cli.telemetry.query.patterns.Pattern` carries
a concrete suggested fix.
"""

from __future__ import annotations

import json
from typing import Any

from nexus_cli.telemetry.db.handle import Db
from nexus_cli.telemetry.query import insights_exact as raw
from nexus_cli.telemetry.query import insights_rolled
from nexus_cli.telemetry.query.patterns import Pattern, slow_threshold_ms, split_point
from nexus_cli.telemetry.query.stats import Durations, split_durations
from nexus_cli.telemetry.query.window import Window


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
        return insights_rolled.detect(db, window, threshold or slow_threshold_ms())
    halves = halves or split_durations(db, window, split_point(window))
    return [
        *raw.detect_slow(db, window, threshold or slow_threshold_ms(), halves),
        *raw.detect_errors(db, window, raw.ports(db, window)),
        *raw.detect_rejections(db, window),
        *raw.detect_short_lived(db, window),
        *raw.detect_retries(db, window),
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
