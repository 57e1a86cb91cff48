"""A cache of merged whole-day roll-ups for windows that end before today (UTC).

Merging a month of per-day histograms is the largest part of a read (tens of thousands of rows);
the past days of a window change only when events dated before today are folded or pruned, which
bumps the ``rollup_generation`` mark (:func:`nexus_cli.telemetry.db.rollup_marks.generation`). So
the merged past days are kept as one JSON row per day range in ``rollup_cache``, valid while the
generation it was computed at is current; today is always read from the tables.

The whole past hours of a window's partial first (or last) day are kept the same way, folded from
raw events once (:func:`cached` with kind "hours"), so a read folds raw events only for the minutes before
the first whole hour. Each kind of entry keeps at most :data:`KEEP` rows (the newest), so the
table stays small while the same generation lasts for weeks.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from itertools import repeat
from typing import Any, cast

from nexus_cli.telemetry.db import rollup_marks
from nexus_cli.telemetry.db.handle import Db
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


def _table(rows: Any, types: tuple[Any, ...]) -> bool:
    """Whether ``rows`` is a list of lists of ``len(types)`` values, each of its column's type
    (never a bool where a number is expected). Checked a column at a time: a month's cached
    part holds thousands of rows, read on every ``stats``/``insights``/``dashboard``."""
    if not isinstance(rows, list):
        return False
    if not rows:
        return True
    if set(map(type, rows)) != {list} or set(map(len, rows)) != {len(types)}:
        return False
    return all(
        all(map(isinstance, column, repeat(kind))) and bool not in set(map(type, column))
        for column, kind in zip(zip(*rows, strict=True), types, strict=True)
    )


# What a damaged cached value makes parsing it raise (it is then computed again).
CACHE_ERRORS = (ValueError, TypeError, KeyError, AttributeError, RecursionError)


def _part(data: dict[str, Any]) -> Part:
    """The part a cached value holds; raises one of :data:`CACHE_ERRORS` when it is damaged."""
    if not (
        isinstance(data.get("commands"), dict)
        and all(
            isinstance(f, list) and len(f) == 5 and all(type(n) is int for n in f)
            for f in data["commands"].values()
        )
        and _table(data["durations"], _DURATION)
        and _table(data["seen"], _SEEN)
    ):
        raise ValueError("not a cached part")
    part = Part(commands=data["commands"])
    for command, index, *cell in data["durations"]:
        part.durations.setdefault(command, {})[index] = cell
    for kind, key, n, first, last, sessions in data["seen"]:
        part.seen[(kind, key)] = Seen(n, first, last, set(sessions))
    return part


KEEP = 16  # rows kept per kind of entry (the text of a key before its ":")


def cached_json(
    db: Db, key: str, compute: Callable[[], Any], load: Callable[[Any], Any] = lambda v: v
) -> Any:
    """``load(compute())`` (``compute`` gives a JSON value) for ``key`` (``kind:range``): from
    the cache while the roll-up generation it was computed at is current, else computed and
    stored when the database can be written (dropping other generations' rows and all but the
    newest of its kind). The cache is disposable: a row that does not parse or ``load`` raises
    on is computed again and replaced, and nothing is cached while the generation is damaged."""
    try:
        generation: int | None = rollup_marks.generation(db)
    except rollup_marks.BadMark:
        generation = None
    row = db.execute("SELECT generation, value FROM rollup_cache WHERE key = ?", [key]).fetchone()
    if row is not None and generation is not None and row[0] == generation:
        try:
            return load(json.loads(row[1]))
        except CACHE_ERRORS:
            pass  # damaged: computed again below, and the row replaced
    value = compute()
    if generation is None:
        return load(value)
    kind = key.split(":", 1)[0] + ":%"
    try:
        with db.atomic():
            db.execute("DELETE FROM rollup_cache WHERE generation IS NOT ?", [generation])
            db.execute(
                "INSERT OR REPLACE INTO rollup_cache (key, generation, value) VALUES (?, ?, ?)",
                [key, generation, json.dumps(value, separators=(",", ":"))],
            )
            db.execute(
                "DELETE FROM rollup_cache WHERE key LIKE ? AND rowid NOT IN (SELECT rowid "
                "FROM rollup_cache WHERE key LIKE ? ORDER BY rowid DESC LIMIT ?)",
                [kind, kind, KEEP],
            )
    except sqlite3.OperationalError:  # busy or read-only: the next read computes again
        pass
    return load(value)


def cached(
    db: Db, kind: str, first: str, end: str, compute: Callable[[Db, str, str], Part]
) -> Part:
    """``compute(db, first, end)`` through the cache: ``kind`` "days" for merged whole days of
    the roll-up tables, "hours" for raw events of whole hours that end before today (UTC)."""
    return cast(
        Part,
        cached_json(db, f"{kind}:{first}/{end}", lambda: _data(compute(db, first, end)), _part),
    )
