"""The one module that opens ``telemetry.db`` for analytics, and owns its later migrations.

The recorder (:mod:`nexus_cli.telemetry.recorder`) creates the base schema with the standard
library on the hot path. Every schema change after that is a numbered sqlite-utils migration in
the ``nexus-telemetry`` set below: functions are never renamed or reordered (the names are stored
in ``_sqlite_migrations``), and each keeps the columns the recorder writes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from nexus_cli import paths
from nexus_cli.errors import StateError
from nexus_cli.telemetry import recorder

if TYPE_CHECKING:
    from sqlite_utils import Database
    from sqlite_utils.migrations import Migrations

BUSY_TIMEOUT_SECONDS = 5.0
DATA_TABLES = ("events", "sessions", "patterns", "sync_marks", "maintenance")


def _migrations() -> Migrations:
    from sqlite_utils.migrations import Migrations

    migrations = Migrations("nexus-telemetry")

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

    return migrations


def database_path() -> str:
    return paths.telemetry_db_str()


def _open(path: str) -> sqlite3.Connection:
    conn = recorder.connect(path)  # creates the file (0600) and the base schema when missing
    conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    return conn


@contextmanager
def opened(path: str | None = None) -> Iterator[Database]:
    """The telemetry database, migrated; any SQLite failure becomes one clear :class:`StateError`."""
    from sqlite_utils import Database

    path = path or database_path()
    conn: sqlite3.Connection | None = None
    try:
        try:
            conn = _open(path)
        except OSError as exc:
            raise StateError(f"cannot open the telemetry database {path}: {exc.strerror}") from None
        db = Database(conn)
        _migrations().apply(db)
        yield db
    except sqlite3.DatabaseError as exc:
        raise StateError(
            f"cannot read the telemetry database {path}: {exc}",
            hint="run `nexus doctor`; move the file aside to start a new one (nothing is deleted)",
        ) from None
    finally:
        if conn is not None:
            conn.close()


def scalar(db: Database, sql: str, params: Any = ()) -> Any:
    row = db.execute(sql, params).fetchone()
    return None if row is None else row[0]


def applied_migrations(db: Database) -> list[str]:
    return [m.name for m in _migrations().applied(db)]
