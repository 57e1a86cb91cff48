"""Values computed from the roll-ups of past days, kept in ``rollup_cache`` while they hold.

The roll-up rows of a day before today (UTC) change only when events dated then are folded or
pruned, which bumps the ``rollup_generation`` mark
(:func:`nexus_cli.telemetry.db.rollup_marks.generation`). So what a read computes from past
days (merged day ranges for ``stats`` and ``insights``: :mod:`nexus_cli.telemetry.query.day_cache`;
retry summaries; the all-days histograms of the OpenMetrics export) is kept as one JSON row per
key, valid while the generation it was computed at is current. A key names the range it covers
(``kind:range``), so a value of days up to yesterday is not taken for the days up to today.
Each kind keeps at most :data:`KEEP` rows (the newest), so the table stays small while the same
generation lasts for weeks.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from itertools import repeat
from typing import Any

from nexus_cli.telemetry.db import rollup_marks
from nexus_cli.telemetry.db.handle import Db

KEEP = 16  # rows kept per kind of entry (the text of a key before its ":")
# What a damaged cached value makes parsing it raise (it is then computed again).
CACHE_ERRORS = (ValueError, TypeError, KeyError, AttributeError, RecursionError)


def rows_of(rows: Any, types: tuple[Any, ...]) -> bool:
    """Whether ``rows`` is a list of lists of ``len(types)`` values, each of its column's type
    (never a bool where a number is expected). Checked a column at a time: a cached value can
    hold thousands of rows, read on every ``stats``/``insights``/``dashboard``."""
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
