"""Retries after a failure in a window, summed from ``rollup_retries`` (one row per retry).

Per command the summary is mergeable: count, first and last (failed_at, retried_at), per error
category its count and first failure, and per session its first failure (the 20 earliest kept).
So a window is summed like the other roll-ups: its past whole days through the day cache, today
and the partial days directly (index ranges on ``failed_at``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nexus_cli.telemetry.db import rollup_cache
from nexus_cli.telemetry.db.handle import Db
from nexus_cli.telemetry.db.rollup_fold import NONE, SESSIONS_KEPT
from nexus_cli.telemetry.query import aggregate
from nexus_cli.telemetry.query.patterns import Retried

# command -> [n, first failed_at, its retried_at, last failed_at, its retried_at,
#             {category: [n, first failed_at]}, [[first failed_at, session], ...]]
Summary = dict[str, list[Any]]
_WINDOW = "FROM rollup_retries WHERE failed_at >= ? AND failed_at < ?"


def _summary(db: Db, since: str, until: str) -> Summary:
    params = [since, until]
    result: Summary = {}
    for command, n, first, first_retried in db.execute(
        f"SELECT command, count(*), min(failed_at), retried_at {_WINDOW} GROUP BY command", params
    ):
        result[command] = [n, first, first_retried, first, first_retried, {}, []]
    for command, last, last_retried in db.execute(
        f"SELECT command, max(failed_at), retried_at {_WINDOW} GROUP BY command", params
    ):
        result[command][3:5] = [last, last_retried]
    for command, category, n, first in db.execute(
        f"SELECT command, error_category, count(*), min(failed_at) {_WINDOW} "
        "GROUP BY command, error_category",
        params,
    ):
        result[command][5][NONE if category is None else category] = [n, first]
    for command, session, first in db.execute(
        f"SELECT command, session_id, f FROM (SELECT command, session_id, min(failed_at) AS f, "
        "row_number() OVER (PARTITION BY command ORDER BY min(failed_at)) AS r "
        f"{_WINDOW} GROUP BY command, session_id) WHERE r <= ?",
        [*params, SESSIONS_KEPT],
    ):
        result[command][6].append([first, session])
    return result


def checked(value: Any) -> Summary:
    """A cached summary as :func:`_summary` makes it; ValueError when it is not one (a damaged
    cache row is computed again: :func:`rollup_cache.cached_json`)."""
    if not isinstance(value, dict):
        raise ValueError("not a retries summary")
    for command, row in value.items():
        if not (
            isinstance(command, str)
            and isinstance(row, list)
            and len(row) == 7
            and type(row[0]) is int
            and all(isinstance(t, str) for t in row[1:5])
            and isinstance(row[5], dict)
            and all(
                isinstance(c, str)
                and isinstance(v, list)
                and len(v) == 2
                and type(v[0]) is int
                and isinstance(v[1], str)
                for c, v in row[5].items()
            )
            and isinstance(row[6], list)
            and all(
                isinstance(p, list) and len(p) == 2 and all(isinstance(t, str) for t in p)
                for p in row[6]
            )
        ):
            raise ValueError("not a retries summary")
    return value


def _merge(into: Summary, other: Summary) -> Summary:
    for command, theirs in other.items():
        mine = into.get(command)
        if mine is None:
            into[command] = [*theirs[:5], dict(theirs[5]), list(theirs[6])]
            continue
        mine[0] += theirs[0]
        if theirs[1] < mine[1]:
            mine[1:3] = theirs[1:3]
        if theirs[3] > mine[3]:
            mine[3:5] = theirs[3:5]
        for category, (n, first) in theirs[5].items():
            old = mine[5].get(category)
            mine[5][category] = [n, first] if old is None else [old[0] + n, min(old[1], first)]
        earliest: dict[str, str] = {}
        for first, session in [*mine[6], *theirs[6]]:
            earliest[session] = min(first, earliest.get(session, first))
        mine[6] = sorted([f, s] for s, f in earliest.items())[:SESSIONS_KEPT]
    return into


def _retried(summary: Summary) -> dict[str, Retried]:
    result: dict[str, Retried] = {}
    for command, (n, _, first_retried, _, last_retried, categories, sessions) in sorted(
        summary.items(), key=lambda kv: kv[1][1]
    ):
        top = min(categories.items(), key=lambda kv: (-kv[1][0], kv[1][1]))[0]
        result[command] = (
            n,
            first_retried,
            last_retried,
            [s for _, s in sessions],
            None if top == NONE else top,
        )
    return result


def retries(db: Db, since: str, until: str) -> dict[str, Retried]:
    """Per command, in the order of its first failure (ties on the top category go to the one
    that failed first, as ``Counter.most_common`` does over rows in failure order)."""
    cut = aggregate.span(db, since, until)
    summary: Summary = {}
    if cut.first_day:
        today = datetime.now(UTC).date().isoformat()
        past_end = min(cut.end_day, today)
        if cut.first_day < past_end:
            key = f"retries:{cut.first_day}/{past_end}"
            bounds = (cut.first_day + aggregate.DAY_START, past_end + aggregate.DAY_START)
            _merge(
                summary,
                rollup_cache.cached_json(db, key, lambda: _summary(db, *bounds), checked),
            )
        if past_end < cut.end_day:
            start = max(cut.first_day, past_end)
            _merge(
                summary,
                _summary(db, start + aggregate.DAY_START, cut.end_day + aggregate.DAY_START),
            )
    for a, b in cut.edges:
        _merge(summary, _summary(db, a, b))
    return _retried(summary)
