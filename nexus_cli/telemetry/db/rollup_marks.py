"""The roll-ups' marks in ``maintenance``: how far the events are folded (``rollup_mark``),
whether a full build's retry pairs are still to be found, and the generation that changes
whenever roll-up rows of a day before today change (read by ``query/day_cache.py``)."""

from __future__ import annotations

from nexus_cli.telemetry.db.handle import Db

MARK_KEY = "rollup_mark"
# Set while the retry pairs of a full build are still to be found (one query at its end).
RETRIES_PENDING_KEY = "rollup_retries_pending"
GENERATION_KEY = "rollup_generation"  # bumped whenever days before today change


def get(db: Db, key: str) -> int:
    """A mark; :class:`BadMark` when its text is not a whole number (a damaged database)."""
    row = db.execute("SELECT value FROM maintenance WHERE key = ?", [key]).fetchone()
    if row is None:
        return 0
    try:
        return int(row[0])
    except (TypeError, ValueError):
        raise BadMark(key) from None


class BadMark(ValueError):
    """A roll-up mark that is not a number: the roll-ups are rebuilt (:func:`rollups.fold`)."""


def put(db: Db, key: str, value: int) -> None:
    db.execute(
        "INSERT INTO maintenance (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, str(value)],
    )


def mark(db: Db) -> int:
    return get(db, MARK_KEY)


def set_mark(db: Db, value: int) -> None:
    put(db, MARK_KEY, value)


def generation(db: Db) -> int:
    """Changes whenever roll-up rows of a day before today (UTC) change (read/day_cache.py)."""
    return get(db, GENERATION_KEY)


def bump_generation(db: Db) -> None:
    try:
        current = generation(db)
    except BadMark:  # a new generation no cached row was computed at (the cache is emptied)
        db.execute("DELETE FROM rollup_cache")
        current = 0
    put(db, GENERATION_KEY, current + 1)
