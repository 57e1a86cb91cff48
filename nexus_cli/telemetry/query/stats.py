"""``nexus stats``: what happened in a window, from the ``events`` and ``sessions`` tables.

Durations are reported as median and p95 (nearest-rank), never means, and interactive commands
(a shell, a live monitor, a followed log) are left out of every speed figure: their duration is
how long a person kept them open, not how fast Nexus was.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from nexus_cli.telemetry.db.classify import (
    INTERACTIVE_COMMANDS,
    INTERACTIVE_WITH_OPTION,
    is_interactive,
)
from nexus_cli.telemetry.db.handle import Db
from nexus_cli.telemetry.db.rollup_fold import NONE, TIME_RANGE, time_range
from nexus_cli.telemetry.db.schema import ms_of
from nexus_cli.telemetry.query import aggregate
from nexus_cli.telemetry.query.part import Part
from nexus_cli.telemetry.query.window import Window

TOP = 10


def percentile(sorted_values: list[int], fraction: float) -> int | None:
    """Nearest-rank percentile of an ascending list (None when empty)."""
    if not sorted_values:
        return None
    return sorted_values[max(0, math.ceil(fraction * len(sorted_values)) - 1)]


def where(window: Window, workspace_hash: str | None = None) -> tuple[str, list[Any]]:
    """The condition (over ``events_ms``: the time as whole milliseconds, for the index) and
    parameters of the window's events."""
    clause = TIME_RANGE
    params: list[Any] = time_range(window.since, window.until)
    if workspace_hash:
        clause += " AND workspace_hash = ?"
        params.append(workspace_hash)
    return clause, params


Durations = dict[str, list[int]]


def split_durations(
    db: Db, window: Window, split_at: str, workspace_hash: str | None = None
) -> tuple[Durations, Durations]:
    """Ascending durations of non-interactive runs per command, before and after ``split_at``."""
    clause, params = where(window, workspace_hash)
    excluded = sorted(INTERACTIVE_COMMANDS | set(INTERACTIVE_WITH_OPTION))
    marks = ", ".join("?" for _ in excluded)
    halves: tuple[Durations, Durations] = (defaultdict(list), defaultdict(list))
    rows = db.execute(
        f"SELECT command, duration_ms, at_ms >= ? FROM events_ms WHERE {clause} "
        f"AND command NOT IN ({marks}) AND duration_ms IS NOT NULL",
        [ms_of(split_at), *params, *excluded],
    )
    for command, duration, late in rows:
        halves[late][command].append(duration)
    for command in INTERACTIVE_WITH_OPTION:
        for duration, raw, late in db.execute(
            f"SELECT duration_ms, raw_data, at_ms >= ? FROM events_ms WHERE command = ? "
            f"AND {clause} AND duration_ms IS NOT NULL",
            [ms_of(split_at), command, *params],
        ):
            if not is_interactive(command, raw):
                halves[late][command].append(duration)
    for half in halves:
        for values in half.values():
            values.sort()
    return dict(halves[0]), dict(halves[1])


def merged(halves: tuple[Durations, Durations]) -> Durations:
    before, after = halves
    return {c: sorted(before.get(c, []) + after.get(c, [])) for c in {*before, *after}}


def durations_by_command(db: Db, window: Window, workspace_hash: str | None = None) -> Durations:
    """Ascending durations of non-interactive invocations, per command."""
    return merged(split_durations(db, window, window.until, workspace_hash))


def _totals(db: Db, clause: str, params: list[Any]) -> dict[str, Any]:
    n, ok = db.execute(
        f"SELECT count(*), coalesce(sum(success = 1), 0) FROM events_ms WHERE {clause}", params
    ).fetchone()
    categories = dict(
        db.execute(
            f"SELECT error_category, count(*) FROM events_ms WHERE {clause} AND success = 0 "
            "GROUP BY error_category ORDER BY count(*) DESC, error_category",
            params,
        ).fetchall()
    )
    return {
        "invocations": n,
        "succeeded": ok,
        "errors": n - ok,
        "success_rate": round(ok / n, 4) if n else None,
        "error_categories": {str(k): v for k, v in categories.items()},
    }


def _sessions(db: Db, clause: str, params: list[Any]) -> dict[str, Any]:
    count, avg = db.execute(
        "SELECT count(*), avg(duration_ms) FROM sessions WHERE session_id IN "
        f"(SELECT DISTINCT session_id FROM events_ms WHERE {clause})",
        params,
    ).fetchone()
    return {"sessions": count, "avg_session_ms": None if avg is None else round(avg)}


def _counters(db: Db, clause: str, params: list[Any]) -> dict[str, int]:
    created, completed = db.execute(
        "SELECT coalesce(sum(json_extract(raw_data, '$.counts.workspaces_created')), 0), "
        "coalesce(sum(json_extract(raw_data, '$.counts.tasks_completed')), 0) "
        f"FROM events_ms WHERE {clause} AND raw_data LIKE '%\"counts\"%'",
        params,
    ).fetchone()
    return {"workspaces_created": int(created), "tasks_completed": int(completed)}


def _commands(db: Db, clause: str, params: list[Any], durations: Durations) -> list[dict[str, Any]]:
    result = []
    for command, n, errors in db.execute(
        f"SELECT command, count(*), coalesce(sum(success = 0), 0) FROM events_ms WHERE {clause} "
        "AND command IS NOT NULL GROUP BY command ORDER BY count(*) DESC, command",
        params,
    ):
        values = durations.get(command, [])
        result.append(
            {
                "command": command,
                "invocations": n,
                "errors": errors,
                "interactive": command in INTERACTIVE_COMMANDS,
                "timed_runs": len(values),
                "median_ms": percentile(values, 0.5),
                "p95_ms": percentile(values, 0.95),
            }
        )
    return result


def compute(
    db: Db,
    window: Window,
    workspace_hash: str | None = None,
    durations: Durations | None = None,
    *,
    exact: bool = False,
    part: Part | None = None,
) -> dict[str, Any]:
    """Every figure `nexus stats` shows, as one JSON-ready dict.

    From the roll-ups (percentiles within 1%) unless ``exact`` or a workspace filter is given
    (the roll-ups are not kept per workspace): then from raw events, as ``durations`` if given.
    """
    if not exact and workspace_hash is None and durations is None:
        return _compute_rolled(db, window, part)
    clause, params = where(window, workspace_hash)
    if durations is None:
        durations = durations_by_command(db, window, workspace_hash)
    commands = _commands(db, clause, params, durations)
    templates = db.execute(
        f"SELECT template_used, count(*) FROM events_ms WHERE {clause} AND template_used IS NOT NULL "
        f"GROUP BY template_used ORDER BY count(*) DESC, template_used LIMIT {TOP}",
        params,
    ).fetchall()
    return {
        "window": window.to_dict(),
        "workspace_filter": workspace_hash is not None,
        **_totals(db, clause, params),
        **_sessions(db, clause, params),
        **_counters(db, clause, params),
        "top_commands": [c["command"] for c in commands[:TOP]],
        "top_templates": [{"template": t, "count": n} for t, n in templates],
        "commands": commands,
    }


def _commands_rolled(part: Part) -> list[dict[str, Any]]:
    result = []
    for command, (n, _ok, failed, *_) in sorted(
        part.commands.items(), key=lambda kv: (-kv[1][0], kv[0])
    ):
        if command == NONE:
            continue
        result.append(
            {
                "command": command,
                "invocations": n,
                "errors": failed,
                "interactive": command in INTERACTIVE_COMMANDS,
                "timed_runs": part.runs(command),
                "median_ms": part.percentile(command, 0.5),
                "p95_ms": part.percentile(command, 0.95),
            }
        )
    return result


def _compute_rolled(db: Db, window: Window, part: Part | None) -> dict[str, Any]:
    """:func:`compute` from the roll-ups (whole days) and raw events (partial days)."""
    if part is None:
        part = aggregate.part(db, window.since, window.until)
    n = sum(f[0] for f in part.commands.values())
    ok = sum(f[1] for f in part.commands.values())
    errors = sorted(part.kind("error").items(), key=lambda kv: (-kv[1].n, kv[0] != NONE, kv[0]))
    templates = sorted(part.kind("template").items(), key=lambda kv: (-kv[1].n, kv[0]))
    sessions, avg = aggregate.session_figures(db, window.since, window.until)
    commands = _commands_rolled(part)
    return {
        "window": window.to_dict(),
        "workspace_filter": False,
        "invocations": n,
        "succeeded": ok,
        "errors": n - ok,
        "success_rate": round(ok / n, 4) if n else None,
        "error_categories": {("None" if k == NONE else k): s.n for k, s in errors},
        "sessions": sessions,
        "avg_session_ms": None if avg is None else round(avg),
        "workspaces_created": sum(f[3] for f in part.commands.values()),
        "tasks_completed": sum(f[4] for f in part.commands.values()),
        "top_commands": [c["command"] for c in commands[:TOP]],
        "top_templates": [{"template": t, "count": s.n} for t, s in templates[:TOP]],
        "commands": commands,
    }
