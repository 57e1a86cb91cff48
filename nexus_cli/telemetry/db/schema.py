"""The telemetry database schema (the seed's ``events``, ``sessions`` and ``patterns`` tables).

:data:`BASE_SCHEMA` is what the journal fold writes into: the first of the numbered migrations
that :mod:`nexus_cli.telemetry.db.store` owns (the later ones keep the columns the fold writes).
"""

from __future__ import annotations

import time
from datetime import UTC
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

BASE_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    timestamp TEXT NOT NULL,            -- UTC, 'YYYY-MM-DD HH:MM:SS.fff'
    session_id TEXT NOT NULL,
    event_type TEXT NOT NULL,           -- 'command', 'workspace', 'task', 'persona', 'gpu', ...
    workspace_hash TEXT,                -- salted SHA-256 of the workspace name
    task_hash TEXT,                     -- salted SHA-256 of the task id
    command TEXT,                       -- 'workspace create'
    duration_ms INTEGER,
    success INTEGER,
    error_category TEXT,                -- 'port_conflict', 'usage', 'docker_unavailable', ...
    template_used TEXT,
    services_count INTEGER,
    ports_used INTEGER,
    raw_data TEXT,                      -- JSON: option names, metrics, signals; never values
    exit_code INTEGER,
    nexus_version TEXT
);
CREATE INDEX IF NOT EXISTS events_timestamp ON events (timestamp);
CREATE INDEX IF NOT EXISTS events_command_timestamp ON events (command, timestamp);
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY,
    session_id TEXT UNIQUE NOT NULL,
    shell_key TEXT,
    started_at TEXT,
    ended_at TEXT,
    duration_ms INTEGER,
    commands_executed INTEGER,
    workspaces_created INTEGER,
    tasks_completed INTEGER,
    errors_encountered INTEGER,
    user_feedback TEXT
);
CREATE INDEX IF NOT EXISTS sessions_shell_ended ON sessions (shell_key, ended_at);
CREATE INDEX IF NOT EXISTS sessions_started ON sessions (started_at);
CREATE TABLE IF NOT EXISTS patterns (
    id INTEGER PRIMARY KEY,
    pattern_type TEXT NOT NULL,
    description TEXT,
    frequency INTEGER,
    first_seen TEXT,
    last_seen TEXT,
    affected_sessions TEXT,             -- JSON array of session ids
    suggested_fix TEXT
);
"""

# Every table that holds telemetry data (what `nexus telemetry purge` empties).
DATA_TABLES = (
    "event_rows",
    "strings",
    "sessions",
    "patterns",
    "sync_marks",
    "maintenance",
    "rollup_commands",
    "rollup_durations",
    "rollup_seen",
    "rollup_sessions",
    "rollup_retries",
    "rollup_cache",
    "quarantine",
    "agent_usage",  # what coding agents spent (agent_usage.py)
    "agent_log_marks",
    "agent_sessions",
)

# The columns of `events`, in insert order (without id).
EVENT_COLUMNS = (
    "timestamp",
    "session_id",
    "event_type",
    "workspace_hash",
    "task_hash",
    "command",
    "duration_ms",
    "success",
    "error_category",
    "template_used",
    "services_count",
    "ports_used",
    "raw_data",
    "exit_code",
    "nexus_version",
)


# Migration 11 (store.m011_compact_events): each distinct text of the columns below is stored
# once, in `strings`, and `event_rows` holds its id; `events` becomes a view with the columns
# (names, order, values) of the table it replaces, so every reader reads it as before, and
# INSTEAD OF triggers take the inserts and deletes writers make through it.
INTERNED = (
    "session_id",
    "event_type",
    "workspace_hash",
    "task_hash",
    "command",
    "error_category",
    "template_used",
    "nexus_version",
)
COMPACT_TABLES = """
CREATE TABLE IF NOT EXISTS strings (
    id INTEGER PRIMARY KEY,
    value NOT NULL UNIQUE               -- no type: a value keeps the type it was written with
);
CREATE TABLE IF NOT EXISTS event_rows (
    id INTEGER PRIMARY KEY,
    timestamp TEXT NOT NULL,
    session_id INTEGER NOT NULL,        -- strings.id, as are the other *_hash/command/... ids
    event_type INTEGER NOT NULL,
    workspace_hash INTEGER,
    task_hash INTEGER,
    command INTEGER,
    duration_ms INTEGER,
    success INTEGER,
    error_category INTEGER,
    template_used INTEGER,
    services_count INTEGER,
    ports_used INTEGER,
    raw_data TEXT,
    exit_code INTEGER,
    nexus_version INTEGER
);
"""
# The one index reads use (EXPLAIN QUERY PLAN of every read: tests/telemetry/db/test_store.py):
# time ranges of the window (stats, insights, dashboard, export, the roll-ups' edge days), also
# the next event of a failure within RETRY_WITHIN_S (retries), filtered by session in the index.
COMPACT_INDEXES = """
CREATE INDEX IF NOT EXISTS event_rows_window ON event_rows
    (timestamp, command, duration_ms, success, error_category, session_id);
"""


def _view() -> str:
    """The ``events`` view: each interned column as a scalar subquery, not a join, so that a
    query evaluates only the columns it uses (SQLite omits an unused LEFT JOIN only outside
    aggregate queries)."""
    columns = [
        f"(SELECT value FROM strings WHERE id = e.{column}) AS {column}"
        if column in INTERNED
        else f"e.{column} AS {column}"
        for column in ("id", *EVENT_COLUMNS)
    ]
    return (
        f"CREATE VIEW IF NOT EXISTS events AS SELECT {', '.join(columns)} FROM event_rows AS e;\n"
    )


def _insert_trigger() -> str:
    interns = "".join(
        f"    INSERT INTO strings (value) SELECT NEW.{c} WHERE NEW.{c} IS NOT NULL "
        f"AND NOT EXISTS (SELECT 1 FROM strings WHERE value = NEW.{c});\n"
        for c in INTERNED
    )
    values = ", ".join(
        f"(SELECT id FROM strings WHERE value = NEW.{c})" if c in INTERNED else f"NEW.{c}"
        for c in ("id", *EVENT_COLUMNS)
    )
    return (
        "CREATE TRIGGER IF NOT EXISTS events_insert INSTEAD OF INSERT ON events BEGIN\n"
        f"{interns}    INSERT INTO event_rows VALUES ({values});\nEND;\n"
    )


COMPACT_VIEW = (
    _view()
    + _insert_trigger()
    + "CREATE TRIGGER IF NOT EXISTS events_delete INSTEAD OF DELETE ON events BEGIN\n"
    "    DELETE FROM event_rows WHERE id = OLD.id;\nEND;\n"
)


def utc(ms: int) -> str:
    """The ``events.timestamp`` text of Unix milliseconds ``ms``."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}"


def stamp(moment: datetime) -> str:
    """The ``events.timestamp`` text of ``moment`` (UTC); years always have four digits."""
    m = moment.astimezone(UTC)
    return (
        f"{m.year:04d}-{m.month:02d}-{m.day:02d} {m.hour:02d}:{m.minute:02d}:{m.second:02d}."
        f"{m.microsecond // 1000:03d}"
    )
