"""Roll-up tables: per-day aggregates that stats, insights and the dashboard read.

Raw ``events`` stay the source of truth. The roll-ups cover every event with ``id <= mark``, the
high-water mark kept in ``maintenance`` (key ``rollup_mark``). :func:`fold` adds the events after
the mark (in SQL: :mod:`~nexus_cli.telemetry.db.rollup_sql`) and moves the mark in the same
``BEGIN IMMEDIATE`` transaction (one per CHUNK ids, BUILD_CHUNK during a full build), so
two processes folding at once cannot count an event twice (each chunk starts from the mark the
last one left), and a crash leaves either both or neither. Reads fold first, through
:func:`nexus_cli.telemetry.db.fold.fold` (the recorder never does: recording stays as fast as it
was). Event ids only grow while the table keeps rows; when they go backwards (everything purged,
new events recorded) the roll-ups are rebuilt.

Tables (keys are UTC days, ``YYYY-MM-DD``; a NULL command/category/template is stored as NONE):

* ``rollup_commands`` (day, command): invocations, succeeded, failed, workspaces created, tasks
  completed.
* ``rollup_durations`` (day, command, bucket): the duration histogram of non-interactive runs
  (:mod:`~nexus_cli.telemetry.db.sketch`), with the first and last time (whole UTC
  milliseconds, as ``event_rows.at_ms``) and the smallest session id of each bucket (what a slow-command insight shows) and its smallest and largest
  duration (a bucket holding one value reports it exactly).
* ``rollup_seen`` (day, kind, key): count, first, last and up to 20 session ids (the smallest) for
  error categories, templates, port conflicts, rejection reasons, short-lived workspaces, ages.
* ``rollup_sessions`` (day, session_id): the sessions active that day.
* ``rollup_retries``: one row per failure retried within 120 s in its session.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from nexus_cli import fs
from nexus_cli.telemetry.db import (
    parallel_build,
    progress,
    quarantine,
    rollup_checks,
    rollup_sql,
)
from nexus_cli.telemetry.db.handle import Db
from nexus_cli.telemetry.db.rollup_fold import (
    TIME_RANGE,
    Accumulator,
    sessions_json,
)
from nexus_cli.telemetry.db.rollup_marks import (
    RETRIES_PENDING_KEY,
    BadMark,
    bump_generation,
    get,
    mark,
    put,
    set_mark,
)
from nexus_cli.telemetry.db.rollup_retries import find_all_retries, retries_of, retries_pending
from nexus_cli.telemetry.db.schema import (
    DAY_MS,
    day_number_sql,
    day_text_sql,
    ms_of,
)

# Event ids per fold transaction: short enough that the recorder (whose busy timeout is 0.1 s)
# is rarely kept waiting, even during a first build over millions of events.
CHUNK = 5_000
# A full build (from mark 0) folds this many ids per transaction: nobody waits on it but other
# readers, and each chunk costs a few statements whatever its size.
BUILD_CHUNK = 200_000
FOLD_BUSY_TIMEOUT_MS = 30_000  # a reader waits for another one's chunk rather than failing
FOLD_LOCK_SUFFIX = ".rollups.lock"  # beside the database: one roll-up fold at a time
SHOW_PROGRESS_FROM = 100_000
TABLES = ("rollup_commands", "rollup_durations", "rollup_seen", "rollup_sessions", "rollup_retries")
DAY_TABLES = TABLES[:4]

# first_ms, last_ms: whole UTC milliseconds, like event_rows.at_ms (since migration 14; text
# before, see versions.m014_duration_times).
DURATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS rollup_durations (
    day TEXT NOT NULL, command TEXT NOT NULL, bucket INTEGER NOT NULL, n INTEGER NOT NULL,
    first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL, session_id TEXT NOT NULL,
    lo INTEGER NOT NULL, hi INTEGER NOT NULL, PRIMARY KEY (day, command, bucket)) WITHOUT ROWID;
"""

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS rollup_commands (
    day TEXT NOT NULL, command TEXT NOT NULL, n INTEGER NOT NULL, ok INTEGER NOT NULL,
    failed INTEGER NOT NULL, created INTEGER NOT NULL, completed INTEGER NOT NULL,
    PRIMARY KEY (day, command)) WITHOUT ROWID;
{DURATIONS_TABLE}CREATE TABLE IF NOT EXISTS rollup_seen (
    day TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, n INTEGER NOT NULL,
    first_ts TEXT NOT NULL, last_ts TEXT NOT NULL, sessions TEXT NOT NULL,
    PRIMARY KEY (day, kind, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_sessions (
    day TEXT NOT NULL, session_id TEXT NOT NULL, PRIMARY KEY (day, session_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_retries (
    event_id INTEGER PRIMARY KEY, session_id TEXT NOT NULL, failed_at TEXT NOT NULL,
    command TEXT NOT NULL, error_category TEXT, retried_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS rollup_retries_window ON rollup_retries
    (failed_at, command, error_category, session_id, retried_at);
CREATE INDEX IF NOT EXISTS rollup_retries_session ON rollup_retries (session_id);
CREATE TABLE IF NOT EXISTS rollup_cache (
    key TEXT PRIMARY KEY, generation INTEGER NOT NULL, value TEXT NOT NULL);
"""


def write(db: Db, acc: Accumulator) -> None:
    """Add ``acc``'s figures to the tables (upserts that add counts and merge the rest)."""
    today = datetime.now(UTC).date().isoformat()
    if any(day < today for day, _ in acc.commands):
        bump_generation(db)
    rollup_sql.register_merges(db.conn)
    db.conn.executemany(
        "INSERT INTO rollup_commands VALUES (?, ?, ?, ?, ?, ?, ?) "
        f"{rollup_sql.MERGES['rollup_commands']}",
        ((day, cmd, *figures) for (day, cmd), figures in acc.commands.items()),
    )
    db.conn.executemany(
        "INSERT INTO rollup_durations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        f"{rollup_sql.MERGES['rollup_durations']}",
        (
            (*key, n, ms_of(first), ms_of(last), session, lo, hi)
            for key, (n, first, last, session, lo, hi) in acc.durations.items()
        ),
    )
    db.conn.executemany(
        f"INSERT INTO rollup_seen VALUES (?, ?, ?, ?, ?, ?, ?) {rollup_sql.MERGES['rollup_seen']}",
        (
            (*key, s.n, s.first, s.last, sessions_json(s.kept_sessions()))
            for key, s in acc.seen.items()
        ),
    )


def clear(db: Db) -> None:
    """Drop every roll-up row and the mark: the next fold builds them from the events."""
    for table in TABLES:
        db.execute(f"DELETE FROM {table}")
    set_mark(db, 0)
    bump_generation(db)


def _quarantine_bad_events(db: Db, low: int, end: int) -> None:
    """Move the events ``(low, end]`` of a shape the roll-ups and readers cannot take (a damaged
    or hand-edited database) out of ``events`` (:mod:`~nexus_cli.telemetry.db.quarantine`)."""
    bad: dict[int, tuple[str, str | None]] = {
        row[0]: ("not a valid events row", None)
        for row in db.execute(
            f"SELECT id FROM event_rows WHERE id > ? AND id <= ? "
            f"AND NOT {quarantine.VALID_ROW_SQL}",
            [low, end],
        )
    }
    if bad:
        quarantine.move_events(db.conn, bad)


def _fold_chunk(db: Db, take: Callable[[int, int], int] | None = None) -> tuple[int, int]:
    """Fold a chunk of event ids after the mark (inside a write transaction, which also moves
    the mark): CHUNK ids, or BUILD_CHUNK during a full build, and during a parallel one only the
    ids ``take(low, end)`` leaves to this process (:meth:`parallel_build.Part.take`). Returns
    (events folded, ids still after the mark)."""
    low = mark(db)
    top = db.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
    if top < low:  # ids went backwards: the rows the mark counted are gone
        clear(db)
        low = 0
    if low == 0 and top > 0:  # a full build: its retry pairs are found once, at its end
        put(db, RETRIES_PENDING_KEY, 1)
    building = get(db, RETRIES_PENDING_KEY) == 1
    end = min(low + (BUILD_CHUNK if building else CHUNK), top)
    if take is not None:
        end = take(low, end)
    if end == low:
        return 0, top - end
    events = fold_ids(db, low, end, retries=not building)  # bad rows into quarantine first
    set_mark(db, end)
    return events, top - end


def fold_ids(db: Db, low: int, end: int, *, retries: bool = True) -> int:
    """Add the events ``(low, end]`` to the roll-ups (SQL: :mod:`rollup_sql`); how many there
    were. ``retries``: find their retry pairs too (a full build finds them all at its end)."""
    folded, acc, first_day = rollup_sql.fold_range(db, low, end)
    if first_day is not None and first_day < datetime.now(UTC).date().isoformat():
        bump_generation(db)
    if acc.rejected:
        quarantine.move_events(db.conn, {i: (why, None) for i, why in acc.rejected.items()})
    write(db, acc)
    db.execute(
        f"INSERT OR IGNORE INTO rollup_sessions SELECT {day_text_sql('d.day')}, s.value FROM "
        f"(SELECT DISTINCT {day_number_sql('at_ms')} AS day, session_id FROM event_rows "
        "WHERE id > ? AND id <= ?) AS d JOIN strings AS s ON s.id = d.session_id",
        [low, end],
    )
    if retries:
        retries_of(db, low, end)
    return folded + acc.events


def _fold_chunk_isolated(db: Db) -> tuple[int, int]:
    """:func:`_fold_chunk`, one event at a time, each in a savepoint: an event that still makes
    the fold raise is put aside (the last resort, after a rebuild failed the same way)."""
    low = mark(db)
    top = db.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
    end = min(low + CHUNK, top)
    _quarantine_bad_events(db, low, end)
    folded = 0
    ids = [r[0] for r in db.execute("SELECT id FROM events WHERE id > ? AND id <= ?", [low, end])]
    for event_id in ids:
        db.execute("SAVEPOINT event")
        try:
            folded += fold_ids(db, event_id - 1, event_id)
        except quarantine.ROW_ERRORS as exc:
            db.execute("ROLLBACK TO event")
            quarantine.move_events(db.conn, {event_id: quarantine.error_reason(exc)})
        db.execute("RELEASE event")
    set_mark(db, end)
    return folded, top - end


def merge_part(db: Db, part: parallel_build.Part) -> int | None:
    """Once the mark is where the child's ids begin: wait for the child, add its rows
    (:data:`rollup_sql.MERGES`) and move the mark to ``part.top``, in one transaction; how many
    events the child folded. None when the child did not fold every id it took (nothing
    changes: the fold goes on by itself)."""
    if not part.finished():
        return None
    db.execute("ATTACH DATABASE ? AS part", [part.path])  # never within a transaction
    try:
        with db.atomic():
            found = dict(
                db.execute(
                    "SELECT key, value FROM part.maintenance WHERE key IN (?, ?)",
                    parallel_build.PART_KEYS,
                ).fetchall()
            )
            try:
                low, folded = (int(found[key]) for key in parallel_build.PART_KEYS)
            except (KeyError, TypeError, ValueError):  # not all of it, or not the child's
                return None
            if low != mark(db):  # another folder went on
                return None
            rollup_sql.register_merges(db.conn)
            for table in DAY_TABLES:
                merge = rollup_sql.MERGES[table]
                db.execute(f"INSERT INTO {table} SELECT * FROM part.{table} WHERE 1 {merge}")
            set_mark(db, part.top)
            bump_generation(db)
            if _quarantined(db) == part.quarantined:  # the events the child's retries saw
                db.execute("DELETE FROM rollup_retries")
                db.execute("INSERT INTO rollup_retries SELECT * FROM part.rollup_retries")
                db.execute("DELETE FROM maintenance WHERE key = ?", [RETRIES_PENDING_KEY])
        return folded
    finally:
        db.execute("DETACH DATABASE part")


def _quarantined(db: Db) -> int:
    """Rows put aside so far: a parallel build takes its child's retry pairs only when the
    parent moved no event aside meanwhile (the child found them among the events it saw)."""
    return int(db.execute("SELECT count(*) FROM quarantine").fetchone()[0])


def damaged(exc: BaseException) -> bool:
    """Whether ``exc`` comes from damaged roll-up rows, marks or events (not from SQLite being
    busy or the disk): a merge function's failure comes back as an OperationalError."""
    if isinstance(exc, sqlite3.OperationalError):
        return "user-defined function raised exception" in str(exc)
    return isinstance(exc, quarantine.ROW_ERRORS)


def fold(db: Db, *, show_progress: bool = True, anew: bool = False) -> int:
    """Fold the events recorded since the last fold; returns how many (0: already current).

    One transaction per chunk of ids, so other folders wait at most one chunk, and two processes
    folding at once share the work instead of counting anything twice. A large fold shows a
    progress bar on a terminal (never with ``show_progress`` False, nor on a pipe). ``anew``:
    drop every roll-up row first (in the first chunk's transaction, once a parallel build's
    child is starting: the drop takes a while at millions of events).
    """
    top = db.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
    try:
        pending = top if anew else top - mark(db)
    except BadMark:
        pending = top + 1  # rebuilt below
    if anew and top == 0:  # no event: dropping the rows is the whole rebuild
        with db.atomic():
            clear(db)
        anew = False
    if pending == 0 and not retries_pending(db):  # the common case, without the write lock
        return 0
    folded = 0
    part: parallel_build.Part | None = None
    label = "building telemetry roll-ups"
    busy_timeout = int(db.execute("PRAGMA busy_timeout").fetchone()[0])
    temp_store = int(db.execute("PRAGMA temp_store").fetchone()[0])
    db.execute(f"PRAGMA busy_timeout={FOLD_BUSY_TIMEOUT_MS}")
    # The fold's temporary tables (a few MB per chunk) in memory rather than in files.
    db.execute("PRAGMA temp_store=MEMORY")
    rollup_checks.forget_strings_checked(db)
    try:
        # Folders take turns for the whole fold (SQLite's busy wait is not fair: a folder between
        # two chunks of another could wait out its timeout on a busy machine); the one that waited
        # then finds little or nothing left to fold.
        with (
            fs.locked(f"{db.path}{FOLD_LOCK_SUFFIX}"),
            progress.bar(
                label, abs(pending), show=show_progress and abs(pending) >= SHOW_PROGRESS_FROM
            ) as tick,
        ):
            rebuilt = isolate = False
            # A build from nothing shares the ids with a child (parallel_build.py).
            part = parallel_build.start(db, top, _quarantined(db)) if pending == top else None
            while True:
                try:
                    with db.atomic():
                        if anew:
                            clear(db)
                            anew = False
                        if isolate:
                            events, left = _fold_chunk_isolated(db)
                        else:
                            events, left = _fold_chunk(db, None if part is None else part.take)
                    if part is not None and part.low is not None:  # the child's ids begin here
                        added = merge_part(db, part)
                        part.close()
                        part, events, left = None, events + (added or 0), max(left, 1)
                except Exception as exc:
                    if isolate or not damaged(exc):
                        raise
                    # The roll-ups are disposable: damaged rows or marks are rebuilt from the
                    # events; if the same fold fails on fresh tables, an event is at fault.
                    isolate, rebuilt = rebuilt, True
                    if part is not None:
                        part.close()
                        part = None
                    with db.atomic():
                        clear(db)
                    continue
                isolate = False
                folded += events
                tick(events)
                if left <= 0:
                    if retries_pending(db):
                        with db.atomic():
                            find_all_retries(db)
                    return folded
    finally:
        if part is not None:  # interrupted, or failed: the child ends, its file goes
            part.close()
        db.execute(f"PRAGMA busy_timeout={busy_timeout}")
        # An interrupt between two statements can leave a transaction open, inside which SQLite
        # refuses this pragma: its error would replace the interrupt (and read as a damaged
        # database); the connection then ends with the command anyway.
        if not db.conn.in_transaction:
            db.execute(f"PRAGMA temp_store={temp_store}")


def rebuild(db: Db, *, show_progress: bool = True) -> dict[str, Any]:
    """Drop every roll-up row and fold all events again (in chunks: interrupted, it leaves a
    mark the next fold goes on from)."""
    started = time.perf_counter()
    folded = fold(db, show_progress=show_progress, anew=True)
    rows = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    return {
        "events": folded,
        "mark": mark(db),
        "seconds": round(time.perf_counter() - started, 3),
        "rows": rows,
    }


def forget_before(db: Db, cutoff: str) -> None:
    """Keep roll-ups equal to the events left after deleting those before ``cutoff``.

    Runs inside the caller's transaction: whole days before the cutoff's day are dropped, and
    the cutoff's day is folded again from the raw events that remain (up to the mark).
    """
    if db.execute("SELECT 1 FROM events LIMIT 1").fetchone() is None:
        clear(db)
        return
    day, top = cutoff[:10], mark(db)
    bump_generation(db)
    for table in DAY_TABLES:
        db.execute(f"DELETE FROM {table} WHERE day <= ?", [day])
    db.execute("DELETE FROM rollup_retries WHERE failed_at < ?", [cutoff])
    acc = Accumulator()
    start = ms_of(f"{day} 00:00:00.000")
    day_range = [start, start + DAY_MS, top]
    acc.fold(db.conn, f"{TIME_RANGE} AND id <= ?", day_range)
    write(db, acc)
    db.execute(
        "INSERT OR IGNORE INTO rollup_sessions SELECT DISTINCT ?, "
        f"session_id FROM events_ms WHERE {TIME_RANGE} AND id <= ?",
        [day, *day_range],
    )
