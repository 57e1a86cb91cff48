"""The one module that opens ``telemetry.db`` for analytics, and owns its migrations.

:func:`opened` opens the database (created 0600 when missing), brings its schema up to date and
then folds in the recorder's journal and brings the roll-ups up to date
(:func:`nexus_cli.telemetry.db.fold.fold`, the one write a read makes). The schema is the
numbered migrations below, run by :mod:`nexus_cli.migrations` (the runner ``tasks.db`` uses too)
and counted in ``PRAGMA user_version``: a migration is never renamed, reordered or changed, and
each keeps the columns the fold writes. The first use of a new (or older) database migrates it
under the file lock :data:`MIGRATE_LOCK`, so concurrent first uses wait for one another.

Databases made before this runner were migrated by sqlite-utils: ``user_version`` 1 for the base
schema and the names of the later migrations in ``_sqlite_migrations``. The first open takes
those records over (:func:`_take_over_sqlite_utils_records`): nothing already applied runs again;
the old table is left in place, unused.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from nexus_cli import locks, migrations, paths, sqlite_open
from nexus_cli.errors import StateError
from nexus_cli.telemetry.db import agent_usage, fold, progress, quarantine, rollups, schema, upgrade
from nexus_cli.telemetry.db.handle import Db
from nexus_cli.telemetry.journal import privacy

BUSY_TIMEOUT_SECONDS = 5.0
SHOW_PROGRESS_FROM = 100_000  # events: smaller databases migrate in well under a second
MIGRATE_LOCK = "telemetry.migrate.lock"  # beside telemetry.db: one first use migrates at a time


def m001_base_schema(conn: sqlite3.Connection) -> None:
    # The seed's events, sessions and patterns tables: what the journal fold writes into.
    _script(conn, schema.BASE_SCHEMA)


def m002_events_window_index(conn: sqlite3.Connection) -> None:
    # A covering index: windowed aggregates (stats, insights, dashboard) read only the index
    # range of their window, so their cost does not grow with older history.
    conn.execute(
        "CREATE INDEX IF NOT EXISTS events_window ON events "
        "(timestamp, command, duration_ms, success, error_category, session_id)"
    )


def m003_pattern_key(conn: sqlite3.Connection) -> None:
    # Insights upsert patterns by a stable key, so first_seen survives re-detection.
    conn.execute("ALTER TABLE patterns ADD COLUMN pattern_key TEXT")
    conn.execute("ALTER TABLE patterns ADD COLUMN pattern_group TEXT")
    conn.execute("CREATE UNIQUE INDEX IF NOT EXISTS patterns_key ON patterns (pattern_key)")


def m004_sync_marks(conn: sqlite3.Connection) -> None:
    # The sync high-water mark, one row per destination (protocol + URL).
    conn.execute(
        "CREATE TABLE IF NOT EXISTS sync_marks (destination TEXT PRIMARY KEY, "
        "last_event_id INTEGER NOT NULL DEFAULT 0, last_sync_at TEXT, "
        "events_sent INTEGER NOT NULL DEFAULT 0)"
    )


def m005_maintenance(conn: sqlite3.Connection) -> None:
    # When retention last ran, so reads prune at most once a day.
    conn.execute("CREATE TABLE IF NOT EXISTS maintenance (key TEXT PRIMARY KEY, value TEXT)")


def m006_events_session_index(conn: sqlite3.Connection) -> None:
    # Retry detection looks up the event that followed each failure in its session.
    conn.execute("CREATE INDEX IF NOT EXISTS events_session_time ON events (session_id, timestamp)")


def m007_rollups(conn: sqlite3.Connection) -> None:
    # Per-day aggregates for stats, insights and the dashboard (rollups.py). They start empty
    # with mark 0: the first read builds them (with a progress bar on a terminal).
    _script(conn, rollups.SCHEMA)


def m008_rollup_cache(conn: sqlite3.Connection) -> None:
    # Merged past days of the roll-ups, per day range (query/day_cache.py).
    conn.execute(
        "CREATE TABLE IF NOT EXISTS rollup_cache (key TEXT PRIMARY KEY, "
        "generation INTEGER NOT NULL, value TEXT NOT NULL)"
    )


def m009_quarantine(conn: sqlite3.Connection) -> None:
    # Journal records and events a fold cannot take, kept aside (quarantine.py).
    conn.execute(quarantine.SCHEMA)


def m010_agent_usage(conn: sqlite3.Connection) -> None:
    # Tokens coding agents spent (`nexus telemetry ingest`, `telemetry receive`) and how far
    # each agent log was read (agent_usage.py); counts and hashes only.
    for statement in agent_usage.SCHEMA:
        conn.execute(statement)


def m011_compact_events(conn: sqlite3.Connection) -> None:
    # Repeated strings once (schema.INTERNED into `strings`), `events` a view over `event_rows`,
    # and only the indexes a read uses: about half the bytes per event. The rows were copied
    # before, in chunks that each commit (_copy_events, so an interrupted upgrade goes on where
    # it stopped); this copies what is left (all of a small database, or what an older Nexus
    # recorded since, again what it purged and recorded anew: upgrade.finish) and swaps the
    # tables, in the one transaction every migration runs in.
    _script(conn, schema.COMPACT_TABLES)
    _script(conn, schema.COMPACT_INDEXES)
    upgrade.finish(conn, upgrade.COPY, upgrade.copy_range, upgrade.copy_where)
    conn.execute("DROP TABLE events")  # and its four indexes
    _script(conn, schema.COMPACT_VIEW)


def m012_event_times(conn: sqlite3.Connection) -> None:
    # The event time as whole UTC milliseconds (`event_rows.at_ms`, schema.TIMED_TABLE) instead
    # of 23 characters of text, in the table and its index: about 36 bytes less per event, and
    # whole-number comparisons for the window reads and the roll-up fold; the `events` view
    # shows the same text as before. The rows were converted before, in chunks that each commit
    # (_convert_times); this converts what is left (all of a small database, or what an older
    # Nexus recorded since, again what it purged and recorded anew: upgrade.finish), then swaps
    # the tables, in the one transaction of the migrations.
    _script(conn, schema.TIMED_TABLE)
    _script(conn, schema.TIMED_INDEX)
    upgrade.finish(conn, upgrade.CONVERT, upgrade.convert_range, upgrade.convert_where)
    conn.execute("DROP VIEW events")  # and its triggers
    conn.execute("DROP TABLE event_rows")  # and its index
    conn.execute("ALTER TABLE event_rows_ms RENAME TO event_rows")
    _script(conn, schema.TIMED_VIEWS)


def _times_pending(conn: sqlite3.Connection) -> bool:
    """Whether m012_event_times is the migration to run next (the compact layout of m011)."""
    return migrations.version(conn) == COMPACTED_AT


def _convert_times(conn: sqlite3.Connection, tick: progress.Tick) -> None:
    """Before m012_event_times, outside its transaction: convert the events into
    ``event_rows_ms`` in chunks (:func:`upgrade.in_chunks`, as :func:`_copy_events` does for
    m011): until m012 runs the previous Nexus still reads and writes ``event_rows``."""
    _script(conn, schema.TIMED_TABLE)  # autocommit: each statement commits
    _script(conn, schema.TIMED_INDEX)
    upgrade.in_chunks(conn, tick, upgrade.CONVERT, upgrade.convert_range)


def _copy_pending(conn: sqlite3.Connection) -> bool:
    """Whether m011_compact_events is still to run on a database with an ``events`` table."""
    if not 1 <= migrations.version(conn) < COMPACTED_AT:
        return False
    kind = conn.execute("SELECT type FROM sqlite_master WHERE name = 'events'").fetchone()
    return kind is not None and kind[0] == "table"


def m013_sync_marks_hashed(conn: sqlite3.Connection) -> None:
    # A sync mark was kept under the destination as configured, the URL's credentials in the
    # clear (and so in every `export --sql`): each key becomes its salted hash
    # (privacy.sync_mark_key), the old text overwritten on disk (secure_delete).
    conn.execute("PRAGMA secure_delete = ON")
    rows = conn.execute(
        "SELECT destination FROM sync_marks WHERE destination NOT LIKE ?",
        [f"{privacy.SYNC_MARK_PREFIX}%"],
    ).fetchall()
    for (destination,) in rows:
        conn.execute(
            "UPDATE OR REPLACE sync_marks SET destination = ? WHERE destination = ?",
            [privacy.sync_mark_key(str(destination)), destination],
        )
    conn.execute("PRAGMA secure_delete = OFF")


def m014_duration_times(conn: sqlite3.Connection) -> None:
    # rollup_durations keeps each bucket's first and last time as whole UTC milliseconds
    # (first_ms, last_ms), like event_rows.at_ms, instead of 23 characters of text each: the
    # fold no longer names two times per row it writes, and the rows are smaller. The rows are
    # converted in place; when one does not hold two valid times (a damaged table) the roll-ups
    # are dropped instead, and the next read builds them again (they are derived data). A
    # database m007 made in this version's shape has nothing to convert.
    columns = {row[1] for row in conn.execute("PRAGMA table_info(rollup_durations)")}
    if "first_ts" not in columns:
        return
    conn.execute("ALTER TABLE rollup_durations RENAME TO rollup_durations_text")
    _script(conn, rollups.DURATIONS_TABLE)
    # A time converts when its milliseconds give that very text back (schema.ms_sql's check,
    # with the milliseconds computed once per row: a third of the cost).
    exact = " AND ".join(
        f"typeof({text}) = 'text' AND length({text}) = 23 AND {schema.text_sql(ms)} IS {text}"
        for text, ms in (("first_ts", "f"), ("last_ts", "l"))
    )
    conn.execute(
        "WITH c AS MATERIALIZED (SELECT *, "
        f"{schema.unchecked_ms_sql('first_ts')} AS f, {schema.unchecked_ms_sql('last_ts')} AS l "
        "FROM rollup_durations_text) "
        "INSERT INTO rollup_durations SELECT day, command, bucket, n, f, l, session_id, lo, hi "
        f"FROM c WHERE {exact}"
    )
    # (counted: sqlite3 gives no rowcount for a statement that begins with WITH)
    converted = conn.execute("SELECT count(*) FROM rollup_durations").fetchone()[0]
    total = conn.execute("SELECT count(*) FROM rollup_durations_text").fetchone()[0]
    conn.execute("DROP TABLE rollup_durations_text")
    if converted != total:
        rollups.clear(Db(conn, ""))


def _copy_events(conn: sqlite3.Connection, tick: progress.Tick) -> None:
    """Before m011_compact_events, outside its transaction: copy the events into the compact
    tables in chunks, each its own transaction (:func:`upgrade.in_chunks`). Interrupted (Ctrl-C,
    SIGTERM, a crash), the chunks done stay done and the next open goes on from the last one;
    until m011 runs, the old ``events`` table is untouched, so the previous Nexus still reads
    and writes it (what it adds, deletes or purges and records anew meanwhile, m011 takes over)."""
    _script(conn, schema.COMPACT_TABLES)  # autocommit: each statement commits
    _script(conn, schema.COMPACT_INDEXES)
    upgrade.in_chunks(conn, tick, upgrade.COPY, upgrade.copy_range)


MIGRATIONS = (
    m001_base_schema,
    m002_events_window_index,
    m003_pattern_key,
    m004_sync_marks,
    m005_maintenance,
    m006_events_session_index,
    m007_rollups,
    m008_rollup_cache,
    m009_quarantine,
    m010_agent_usage,
    m011_compact_events,
    m012_event_times,
    m013_sync_marks_hashed,
    m014_duration_times,
)
COMPACTED_AT = 11  # m011_compact_events
TIMED_AT = 12  # m012_event_times: the last of the migrations after which free pages are given back
# A recorder's own fold (the journal grown past its size) migrates only a database this small;
# a larger one is upgraded by the next read or `nexus telemetry rebuild`, with a progress bar.
INLINE_UPGRADE_MAX = 20_000
LATEST = len(MIGRATIONS)

# What sqlite-utils recorded, in the set "nexus-telemetry", for migrations 2 to 9 above (it ran
# them under these names; user_version 1 then meant the base schema). m008_quarantine was only
# ever applied by development builds.
SQLITE_UTILS_SET = "nexus-telemetry"
SQLITE_UTILS_NAMES = (
    "m001_events_window_index",
    "m002_pattern_key",
    "m003_sync_marks",
    "m004_maintenance",
    "m005_events_session_index",
    "m006_rollups",
    "m007_rollup_cache",
    "m008_quarantine",
)


def _script(conn: sqlite3.Connection, script: str) -> None:
    """Run ``script``'s statements one by one (``executescript`` would commit the migration);
    SQLite itself says where each ends (a ``;`` in a comment does not)."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            conn.execute(statement)
            statement = ""
    if statement.strip():
        raise ValueError(f"incomplete SQL statement: {statement.strip()[:60]!r}")


def _take_over_sqlite_utils_records(conn: sqlite3.Connection) -> None:
    """Count, in ``user_version``, the migrations sqlite-utils applied to this database."""
    if migrations.version(conn) > 1:
        return
    try:
        rows = conn.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", [SQLITE_UTILS_SET]
        )
        applied = {row[0] for row in rows}
    except sqlite3.OperationalError:  # no such table: never migrated by sqlite-utils
        return
    done = 0
    for name in SQLITE_UTILS_NAMES:  # applied in order, each in its own transaction
        if name not in applied:
            break
        done += 1
    conn.execute(f"PRAGMA user_version = {1 + done}")


def _before_migrating(conn: sqlite3.Connection) -> None:
    """Under the migration lock, outside the transaction: WAL (a setting kept in the file, which
    no transaction may change) and the records of the old runner."""
    conn.execute("PRAGMA journal_mode=WAL")
    _take_over_sqlite_utils_records(conn)


def database_path() -> str:
    return paths.telemetry_db_str()


def _open(path: str) -> sqlite3.Connection:
    conn = sqlite_open.open_private(path, timeout=BUSY_TIMEOUT_SECONDS)
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # a damaged file fails here
    return conn


def _events(conn: sqlite3.Connection) -> int:
    try:
        return int(conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0])
    except sqlite3.OperationalError:  # a new database: no events table yet
        return 0


class UpgradePending(StateError):
    """The database needs the long one-time upgrade (m011) that a recorder's fold leaves to
    the next read (:func:`migrated` with ``upgrade=False``)."""


def migrate(conn: sqlite3.Connection, path: str, *, upgrade: bool = True) -> int:
    """Apply pending migrations (one ``PRAGMA`` read when there are none); returns how many ran.

    A large database shows a progress bar on a terminal: the events copied into the compact
    layout (in chunks that commit, see :func:`_copy_events`), their times converted to whole
    milliseconds (:func:`_convert_times`, the same way), then the rest. With ``upgrade`` False,
    a database needing such a copy with more than INLINE_UPGRADE_MAX events is left as it is:
    :class:`UpgradePending`.
    """
    first = migrations.version(conn)
    if first == LATEST:
        return 0
    lock = os.path.join(os.path.dirname(path) or ".", MIGRATE_LOCK)
    events = _events(conn)
    show = events >= SHOW_PROGRESS_FROM
    if (
        not upgrade
        and events > INLINE_UPGRADE_MAX
        and (_copy_pending(conn) or _times_pending(conn))
    ):
        raise UpgradePending(
            f"the telemetry database {path} needs a one-time upgrade",
            hint="any read (`nexus stats`) or `nexus telemetry rebuild` upgrades it",
        )
    ran = 0
    if _copy_pending(conn):
        _move(conn, lock, "copying events", events, show, _copy_pending, "event_rows", _copy_events)
        ran += _run(conn, path, lock, show=show, upto=COMPACTED_AT)  # so m012 converts in chunks
    if _times_pending(conn):
        what = "converting event times"
        _move(conn, lock, what, events, show, _times_pending, "event_rows_ms", _convert_times)
    ran += _run(conn, path, lock, show=show)
    if 0 < first < TIMED_AT <= migrations.version(conn):
        _give_back_free_pages(conn)
    return ran


def _move(
    conn: sqlite3.Connection,
    lock: str,
    what: str,
    events: int,
    show: bool,
    pending: Callable[[sqlite3.Connection], bool],
    target: str,
    step: Callable[[sqlite3.Connection, progress.Tick], None],
) -> None:
    """One chunked step before a migration (:func:`_copy_events`, :func:`_convert_times`), under
    ``lock``, with a progress bar that starts at the rows ``target`` already holds."""
    label = f"upgrading the telemetry database: {what}"
    with locks.locked(lock), progress.bar(label, events, show=show) as tick:
        conn.execute("PRAGMA journal_mode=WAL")
        if pending(conn):  # still: another process may have upgraded it meanwhile
            tick(upgrade.rows_in(conn, target))
            step(conn, tick)


def _run(
    conn: sqlite3.Connection, path: str, lock: str, *, show: bool, upto: int | None = None
) -> int:
    """The pending migrations up to number ``upto`` (all by default), under ``lock``."""
    label = "upgrading the telemetry database"
    with progress.bar(label, None, show=show) as tick:
        # SQLite reports no progress while it builds an index; its VM-step callback keeps the
        # bar (and its elapsed time) moving.
        conn.set_progress_handler(lambda: tick(1) or 0, 1_000_000)
        try:
            return migrations.migrate(
                conn,
                MIGRATIONS,
                what=f"the telemetry database {path}",
                lock=lock,
                before=_before_migrating,
                upto=upto,
            )
        finally:
            conn.set_progress_handler(None, 0)


def _give_back_free_pages(conn: sqlite3.Connection) -> None:
    """VACUUM when most of the file is free pages (the old events table and its indexes after
    m011_compact_events), so the file shrinks. VACUUM is atomic; when another process holds the
    database it is skipped (the free pages are reused by later events)."""
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    if free * 4 < pages or free < 256:
        return
    with contextlib.suppress(sqlite3.OperationalError):  # busy: another process has it open
        conn.execute("VACUUM")


@contextmanager
def opened(path: str | None = None) -> Iterator[Db]:
    """The telemetry database, migrated and folded: what every reading command opens.

    Its one write is :func:`fold.fold` (the journal into ``events``, new events into the
    roll-ups), so a read sees the events recorded just before it.
    """
    with migrated(path) as db:
        fold.fold(db)
        yield db


@contextmanager
def migrated(path: str | None = None, *, upgrade: bool = True) -> Iterator[Db]:
    """The telemetry database, migrated, nothing folded; any SQLite failure becomes one clear
    :class:`StateError`. ``upgrade`` False: :class:`UpgradePending` rather than a long
    one-time upgrade (:func:`migrate`)."""
    path = path or database_path()
    conn: sqlite3.Connection | None = None
    try:
        try:
            conn = _open(path)
        except OSError as exc:
            raise StateError(
                f"cannot open the telemetry database {path}: {exc.strerror or exc}",
                hint=paths.folder_error(path, exc).hint,
            ) from None
        migrate(conn, path, upgrade=upgrade)
        yield Db(conn, path)
    except UnicodeEncodeError:
        raise StateError(
            f"the telemetry database path {path!r} is not valid UTF-8",
            hint="point NEXUS_HOME at a folder whose path is UTF-8",
        ) from None
    except sqlite3.DatabaseError as exc:
        raise _database_error(path, exc) from None
    finally:
        if conn is not None:
            conn.close()


def _disk_full(path: str) -> bool:
    """Whether the file system holding ``path`` has (almost) no space left for its user."""
    try:
        info = os.statvfs(os.path.dirname(path) or ".")
    except OSError:
        return False
    return info.f_bavail * info.f_frsize < 64 * 1024


def _database_error(path: str, exc: sqlite3.DatabaseError) -> StateError:
    """A full disk or a read-only file is said as such, not as a corrupt database."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and (
        code & 0xFF == sqlite3.SQLITE_FULL
        or (code & 0xFF == sqlite3.SQLITE_IOERR and _disk_full(path))
    ):
        return StateError(
            f"cannot write the telemetry database {path}: the disk is full",
            hint="free some space and run the command again",
        )
    if code is not None and code & 0xFF in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN):
        return StateError(
            f"cannot write the telemetry database {path}: {exc}",
            hint="check the permissions of the file and its folder (or point NEXUS_HOME elsewhere)",
        )
    return StateError(
        f"cannot read the telemetry database {path}: {exc}",
        hint="run `nexus doctor`; move the file aside to start a new one (nothing is deleted)",
    )
