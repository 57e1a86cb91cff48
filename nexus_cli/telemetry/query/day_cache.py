"""A cache of merged whole-day roll-ups for windows that end before today (UTC).

Merging a month of per-day histograms is the largest part of a read (tens of thousands of rows);
the past days of a window change only when events dated before today are folded or pruned, which
bumps the ``rollup_generation`` mark (:func:`nexus_cli.telemetry.db.rollup_marks.generation`). So
the merged past days are kept as one JSON row per day range in ``rollup_cache``, valid while the
generation it was computed at is current (:mod:`nexus_cli.telemetry.db.rollup_cache`); today
is always read from the tables.

The whole past hours of a window's partial first (or last) day are kept the same way, folded from
raw events once (:func:`cached` with kind "hours"), so a read folds raw events only for the
minutes before the first whole hour.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from nexus_cli.telemetry.db.handle import Db
from nexus_cli.telemetry.db.rollup_cache import cached_json, rows_of
from nexus_cli.telemetry.db.rollup_fold import Seen
from nexus_cli.telemetry.query.part import Part


def _data(part: Part) -> dict[str, Any]:
    return {
        "commands": part.commands,
        "durations": [
            [c, i, *cell] for c, cells in part.durations.items() for i, cell in cells.items()
        ],
        "seen": [
            [k, key, s.n, s.first, s.last, s.kept_sessions()] for (k, key), s in part.seen.items()
        ],
    }


# The types of a cached duration row (command, bucket, n, first, last, session, lo, hi) and
# seen row (kind, key, n, first, last, sessions).
_DURATION = (str, int, int, str, str, str, (int, float), (int, float))
_SEEN = (str, str, int, str, str, list)


def _part(data: dict[str, Any]) -> Part:
    """The part a cached value holds; raises one of ``rollup_cache.CACHE_ERRORS`` when it is
    damaged."""
    if not (
        isinstance(data.get("commands"), dict)
        and all(
            isinstance(f, list) and len(f) == 5 and all(type(n) is int for n in f)
            for f in data["commands"].values()
        )
        and rows_of(data["durations"], _DURATION)
        and rows_of(data["seen"], _SEEN)
    ):
        raise ValueError("not a cached part")
    part = Part(commands=data["commands"])
    for command, index, *cell in data["durations"]:
        part.durations.setdefault(command, {})[index] = cell
    for kind, key, n, first, last, sessions in data["seen"]:
        part.seen[(kind, key)] = Seen(n, first, last, set(sessions))
    return part


def cached(
    db: Db, kind: str, first: str, end: str, compute: Callable[[Db, str, str], Part]
) -> Part:
    """``compute(db, first, end)`` through the cache: ``kind`` "days" for merged whole days of
    the roll-up tables, "hours" for raw events of whole hours that end before today (UTC)."""
    return cast(
        Part,
        cached_json(db, f"{kind}:{first}/{end}", lambda: _data(compute(db, first, end)), _part),
    )
