"""The one module that opens ``telemetry.db`` for analytics, and owns its later migrations.

:func:`schema.connect` creates the base schema; :func:`opened` then folds in the recorder's
journal and brings the roll-ups up to date (:func:`nexus_cli.telemetry.db.fold.fold`, the one
write a read makes). Every schema change after the base schema is a numbered sqlite-utils
migration in the ``nexus-telemetry`` set below: functions are never renamed or reordered (the
names are stored in ``_sqlite_migrations``), and each keeps the columns the fold writes.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from nexus_cli import paths
from nexus_cli.errors import StateError
from nexus_cli.telemetry.db import fold, progress, quarantine, rollups, schema
from nexus_cli.telemetry.db.handle import Db

if TYPE_CHECKING:
    from sqlite_utils import Database
    from sqlite_utils.migrations import Migrations

MIGRATION_SET = "nexus-telemetry"
# The names of the migrations below, in order: checked with the standard library first, so that
# sqlite-utils (~80 ms to import) is loaded only when a migration is actually pending.
MIGRATION_NAMES = (
    "m001_events_window_index",
    "m002_pattern_key",
    "m003_sync_marks",
    "m004_maintenance",
    "m005_events_session_index",
    "m006_rollups",
    "m007_rollup_cache",
    "m008_quarantine",
)

BUSY_TIMEOUT_SECONDS = 5.0
SHOW_PROGRESS_FROM = 100_000  # events: smaller databases migrate in well under a second


def _migrations() -> Migrations:
    from sqlite_utils.migrations import Migrations

    migrations = Migrations(MIGRATION_SET)

    @migrations()
    def m001_events_window_index(db: Database) -> None:
        # A covering index: windowed aggregates (stats, insights, dashboard) read only the index
        # range of their window, so their cost does not grow with older history.
        db.execute(
            "CREATE INDEX IF NOT EXISTS events_window ON events "
            "(timestamp, command, duration_ms, success, error_category, session_id)"
        )

    @migrations()
    def m002_pattern_key(db: Database) -> None:
        # Insights upsert patterns by a stable key, so first_seen survives re-detection.
        db.execute("ALTER TABLE patterns ADD COLUMN pattern_key TEXT")
        db.execute("ALTER TABLE patterns ADD COLUMN pattern_group TEXT")
        db.execute("CREATE UNIQUE INDEX IF NOT EXISTS patterns_key ON patterns (pattern_key)")

    @migrations()
    def m003_sync_marks(db: Database) -> None:
        # The sync high-water mark, one row per destination (protocol + URL).
        db.execute(
            "CREATE TABLE IF NOT EXISTS sync_marks (destination TEXT PRIMARY KEY, "
            "last_event_id INTEGER NOT NULL DEFAULT 0, last_sync_at TEXT, "
            "events_sent INTEGER NOT NULL DEFAULT 0)"
        )

    @migrations()
    def m004_maintenance(db: Database) -> None:
        # When retention last ran, so reads prune at most once a day.
        db.execute("CREATE TABLE IF NOT EXISTS maintenance (key TEXT PRIMARY KEY, value TEXT)")

    @migrations()
    def m005_events_session_index(db: Database) -> None:
        # Retry detection looks up the event that followed each failure in its session.
        db.execute(
            "CREATE INDEX IF NOT EXISTS events_session_time ON events (session_id, timestamp)"
        )

    @migrations()
    def m006_rollups(db: Database) -> None:
        # Per-day aggregates for stats, insights and the dashboard (rollups.py). They start empty
        # with mark 0: the first read builds them (with a progress bar on a terminal).
        for statement in rollups.SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)

    @migrations()
    def m007_rollup_cache(db: Database) -> None:
        # Merged past days of the roll-ups, per day range (read/day_cache.py).
        db.execute(
            "CREATE TABLE IF NOT EXISTS rollup_cache (key TEXT PRIMARY KEY, "
            "generation INTEGER NOT NULL, value TEXT NOT NULL)"
        )

    @migrations()
    def m008_quarantine(db: Database) -> None:
        # Journal records and events a fold cannot take, kept aside (quarantine.py).
        db.execute(quarantine.SCHEMA)

    return migrations


def database_path() -> str:
    return paths.telemetry_db_str()


def _open(path: str) -> sqlite3.Connection:
    conn = schema.connect(path)  # creates the file (0600) and the base schema when missing
    conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    return conn


def _pending(conn: sqlite3.Connection) -> bool:
    try:
        applied = {
            r[0]
            for r in conn.execute(
                "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", [MIGRATION_SET]
            )
        }
    except sqlite3.OperationalError:  # no migrations table yet
        return True
    return not applied.issuperset(MIGRATION_NAMES)


def migrate(conn: sqlite3.Connection) -> None:
    """Apply pending migrations (sqlite-utils ``Migrations``), importing it only when needed."""
    if not _pending(conn):
        return
    from sqlite_utils import Database

    size = conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
    label = "upgrading the telemetry database"
    with progress.bar(label, None, show=size >= SHOW_PROGRESS_FROM) as tick:
        # SQLite reports no progress while it builds an index; its VM-step callback keeps the
        # bar (and its elapsed time) moving.
        conn.set_progress_handler(lambda: tick(1) or 0, 1_000_000)
        try:
            _migrations().apply(Database(conn))
        finally:
            conn.set_progress_handler(None, 0)


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
def migrated(path: str | None = None) -> Iterator[Db]:
    """The telemetry database, migrated, nothing folded; any SQLite failure becomes one clear
    :class:`StateError`."""
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
        migrate(conn)
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


def applied_migrations(db: Db) -> list[str]:
    """Names of the applied migrations, in the order they ran (via sqlite-utils)."""
    from sqlite_utils import Database

    return [m.name for m in _migrations().applied(Database(db.conn))]


def defined_migrations() -> list[str]:
    return [m.name for m in _migrations()._migrations]
