"""The telemetry database schema (the seed's ``events``, ``sessions`` and ``patterns`` tables).

:data:`BASE_SCHEMA` is what the journal fold writes into: the first of the numbered migrations
that :mod:`nexus_cli.telemetry.db.store` owns (the later ones keep the columns the fold writes).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

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


# Migration 11 (versions.m011_compact_events): each distinct text of the columns below is stored
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
# The columns after the time of both layouts of ``event_rows`` (m011: a text timestamp; m012:
# whole milliseconds), as their CREATE TABLE statements have them.
_ROW_COLUMNS_SQL = """\
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

COMPACT_TABLES = (
    """
CREATE TABLE IF NOT EXISTS strings (
    id INTEGER PRIMARY KEY,
    value NOT NULL UNIQUE               -- no type: a value keeps the type it was written with
);
CREATE TABLE IF NOT EXISTS event_rows (
    id INTEGER PRIMARY KEY,
    timestamp TEXT NOT NULL,
"""
    + _ROW_COLUMNS_SQL
)
# The index of the compact layout (m011), on the text timestamp: replaced by TIMED_INDEX (m012).
COMPACT_INDEXES = """
CREATE INDEX IF NOT EXISTS event_rows_window ON event_rows
    (timestamp, command, duration_ms, success, error_category, session_id);
"""

# Migration 12 (versions.m012_event_times): ``event_rows`` keeps the time of an event as whole UTC
# milliseconds since 1970 in ``at_ms`` (6 bytes, in the table and in its index) instead of the
# 23 characters of ``timestamp``. The ``events`` view still shows ``timestamp`` as that text
# (:func:`text_sql`, exactly what :func:`utc` gives), so exports, sync and SQL users see no
# change; queries that filter or order by time read ``at_ms`` (through ``events_ms``: the view
# with ``at_ms`` as its first column), so they use the index. A value that is not such a whole
# number (a damaged or hand-edited row, or a text the INSERT trigger cannot read exactly) is kept
# as it was written (a number as its text), and the roll-up fold moves the row into quarantine
# (VALID_ROW_SQL).
ROW_COLUMNS = ("at_ms", *EVENT_COLUMNS[1:])  # the columns of event_rows, in order (without id)
# The times a valid row holds: 0001-01-01 00:00:00.000 to 9999-12-31 23:59:59.999 (what the
# 23-character text could say).
AT_MS_MIN, AT_MS_MAX = -62_135_596_800_000, 253_402_300_799_999
DAY_MS = 86_400_000
_YEAR1_S = 62_135_596_800  # seconds from 0001-01-01 to 1970-01-01 (719,162 whole days)

TIMED_TABLE = (
    """
CREATE TABLE IF NOT EXISTS event_rows_ms (
    id INTEGER PRIMARY KEY,
    at_ms NOT NULL,                     -- UTC, whole milliseconds since 1970-01-01; no type:
                                        -- any other value keeps the type it was written with
"""
    + _ROW_COLUMNS_SQL
)
# The one index reads use (EXPLAIN QUERY PLAN of every read: tests/telemetry/db/test_store.py):
# time ranges of the window (stats, insights, dashboard, export, the roll-ups' edge days), also
# the next event of a failure within RETRY_WITHIN_S (retries), filtered by session in the index.
# Made on event_rows_ms while m012 fills it; its name stays when that table becomes event_rows.
TIMED_INDEX = """
CREATE INDEX IF NOT EXISTS event_rows_time ON event_rows_ms
    (at_ms, command, duration_ms, success, error_category, session_id);
"""


def text_sql(ms: str) -> str:
    """SQL: the ``events.timestamp`` text of the whole milliseconds ``ms`` (an SQL expression),
    exactly :func:`utc` (floor division, so times before 1970 too); NULL out of range."""
    frac = f"((({ms}) % 1000 + 1000) % 1000)"
    seconds = f"((({ms}) - {frac}) / 1000)"
    # datetime() is strftime('%Y-%m-%d %H:%M:%S') at a third of the cost, but for the years
    # before 1 (never a valid row's: AT_MS_MIN), which it writes with a fourth digit
    return (
        f"(CASE WHEN {seconds} >= {AT_MS_MIN // 1000} THEN datetime({seconds}, 'unixepoch') "
        f"ELSE strftime('%Y-%m-%d %H:%M:%S', {seconds}, 'unixepoch') END "
        f"|| printf('.%03d', {frac}))"
    )


def unchecked_ms_sql(text: str) -> str:
    """SQL: the milliseconds of ``text`` read as a ``timestamp`` text; right only when
    :func:`text_sql` of them gives that very text back (:func:`ms_sql` checks)."""
    return (
        f"(CAST(strftime('%s', {text}) AS INTEGER) * 1000 + CAST(substr({text}, 21, 3) AS INTEGER))"
    )


def ms_sql(text: str) -> str:
    """SQL: the milliseconds of ``text`` (an SQL expression holding a ``timestamp`` text) when
    :func:`text_sql` gives that very text back; else ``text`` as written, a number as its text
    (a number was never a valid timestamp: the row must stay one the fold puts aside)."""
    ms = unchecked_ms_sql(text)
    return (
        f"CASE WHEN typeof({text}) = 'text' AND length({text}) = 23 "
        f"AND {text_sql(ms)} IS {text} THEN {ms} "
        f"WHEN typeof({text}) IN ('integer', 'real') THEN CAST({text} AS TEXT) ELSE {text} END"
    )


def day_number_sql(ms: str) -> str:
    """SQL: the UTC day of ``ms`` as a whole number (days since 0001-01-01, never negative for a
    valid row, so integer division is floor division): cheaper to group by than its text."""
    return f"((({ms}) + {_YEAR1_S * 1000}) / {DAY_MS})"


def day_text_sql(number: str) -> str:
    """SQL: the ``YYYY-MM-DD`` text of a :func:`day_number_sql` day."""
    return f"date(({number}) * 86400 - {_YEAR1_S}, 'unixepoch')"


def timestamp_sql(at_ms: str) -> str:
    """SQL: the view's ``timestamp`` of the stored ``at_ms`` (a column): its text, or a damaged
    value (not a whole number in range) as it is stored."""
    return (
        f"CASE WHEN typeof({at_ms}) = 'integer' THEN coalesce({text_sql(at_ms)}, {at_ms}) "
        f"ELSE {at_ms} END"
    )


def _view(name: str = "events", *, timed: bool = False, at_ms: bool = False) -> str:
    """The ``events`` view: each interned column as a scalar subquery, not a join, so that a
    query evaluates only the columns it uses (SQLite omits an unused LEFT JOIN only outside
    aggregate queries). ``timed``: over ``event_rows.at_ms`` (m012); ``at_ms``: with that column
    first (``events_ms``)."""
    columns = ["e.at_ms AS at_ms"] if at_ms else []
    for column in ("id", *EVENT_COLUMNS):
        if column in INTERNED:
            columns.append(f"(SELECT value FROM strings WHERE id = e.{column}) AS {column}")
        elif column == "timestamp" and timed:
            columns.append(f"{timestamp_sql('e.at_ms')} AS timestamp")
        else:
            columns.append(f"e.{column} AS {column}")
    return (
        f"CREATE VIEW IF NOT EXISTS {name} AS SELECT {', '.join(columns)} FROM event_rows AS e;\n"
    )


def _insert_trigger(*, timed: bool = False) -> str:
    interns = "".join(
        f"    INSERT INTO strings (value) SELECT NEW.{c} WHERE NEW.{c} IS NOT NULL "
        f"AND NOT EXISTS (SELECT 1 FROM strings WHERE value = NEW.{c});\n"
        for c in INTERNED
    )
    values = ", ".join(
        f"(SELECT id FROM strings WHERE value = NEW.{c})"
        if c in INTERNED
        else ms_sql("NEW.timestamp")
        if c == "timestamp" and timed
        else f"NEW.{c}"
        for c in ("id", *EVENT_COLUMNS)
    )
    return (
        "CREATE TRIGGER IF NOT EXISTS events_insert INSTEAD OF INSERT ON events BEGIN\n"
        f"{interns}    INSERT INTO event_rows VALUES ({values});\nEND;\n"
    )


_DELETE_TRIGGER = (
    "CREATE TRIGGER IF NOT EXISTS events_delete INSTEAD OF DELETE ON events BEGIN\n"
    "    DELETE FROM event_rows WHERE id = OLD.id;\nEND;\n"
)
# The view and triggers of the compact layout as m011 made them (text timestamps).
COMPACT_VIEW = _view() + _insert_trigger() + _DELETE_TRIGGER
# Those of m012: `timestamp` computed from at_ms; `events_ms` for the readers that need at_ms.
TIMED_VIEWS = (
    _view(timed=True)
    + _view("events_ms", timed=True, at_ms=True)
    + _insert_trigger(timed=True)
    + _DELETE_TRIGGER
)


def ms_of(text: str) -> int:
    """The whole milliseconds of a ``timestamp`` text (UTC): the inverse of :func:`utc`."""
    moment = datetime.fromisoformat(text).replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def utc(ms: int) -> str:
    """The ``events.timestamp`` text of Unix milliseconds ``ms``."""
    t = time.gmtime(ms // 1000)  # years always have four digits, as in text_sql
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{ms % 1000:03d}"
    )


def stamp(moment: datetime) -> str:
    """The ``events.timestamp`` text of ``moment`` (UTC); years always have four digits."""
    m = moment.astimezone(UTC)
    return (
        f"{m.year:04d}-{m.month:02d}-{m.day:02d} {m.hour:02d}:{m.minute:02d}:{m.second:02d}."
        f"{m.microsecond // 1000:03d}"
    )
