"""A cache of merged whole-day roll-ups for windows that end before today (UTC).

Merging a month of per-day histograms is the largest part of a read (tens of thousands of rows);
the past days of a window change only when events dated before today are folded or pruned, which
bumps the ``rollup_generation`` mark (:func:`nexus_cli.telemetry.store.rollups.generation`). So
the merged past days are kept as one JSON row per day range in ``rollup_cache``, valid while the
generation it was computed at is current; today is always read from the tables.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nexus_cli.telemetry.store import rollups
from nexus_cli.telemetry.store.rollup_fold import Seen

if TYPE_CHECKING:
    from nexus_cli.telemetry.read.aggregate import Part
    from nexus_cli.telemetry.store.store import Db


def _data(part: Part) -> dict[str, Any]:
    return {
        "commands": part.commands,
        "durations": [
            [c, i, *cell] for c, cells in part.durations.items() for i, cell in cells.items()
        ],
        "seen": [
            [k, key, s.n, s.first, s.last, sorted(s.sessions)] for (k, key), s in part.seen.items()
        ],
    }


def _part(data: dict[str, Any]) -> Part:
    from nexus_cli.telemetry.read.aggregate import Part

    part = Part(commands=data["commands"])
    for command, index, *cell in data["durations"]:
        part.durations.setdefault(command, {})[index] = cell
    for kind, key, n, first, last, sessions in data["seen"]:
        part.seen[(kind, key)] = Seen(n, first, last, set(sessions))
    return part


def cached_json(db: Db, key: str, compute: Callable[[], Any]) -> Any:
    """``compute()`` (a JSON value) for ``key``: from the cache while the roll-up generation it
    was computed at is current, else computed and stored when the database can be written."""
    generation = rollups.generation(db)
    row = db.execute("SELECT generation, value FROM rollup_cache WHERE key = ?", [key]).fetchone()
    if row is not None and row[0] == generation:
        return json.loads(row[1])
    value = compute()
    try:
        with db.atomic():
            db.execute("DELETE FROM rollup_cache WHERE generation != ?", [generation])
            db.execute(
                "INSERT OR REPLACE INTO rollup_cache (key, generation, value) VALUES (?, ?, ?)",
                [key, generation, json.dumps(value, separators=(",", ":"))],
            )
    except sqlite3.OperationalError:  # busy or read-only: the next read computes again
        pass
    return value


def cached(db: Db, first: str, end: str, compute: Callable[[Db, str, str], Part]) -> Part:
    """The merged days ``[first, end)`` of the roll-up tables."""
    return _part(cached_json(db, f"{first}/{end}", lambda: _data(compute(db, first, end))))
