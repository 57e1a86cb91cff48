"""Write one ``events`` row per invocation, and keep ``sessions`` current.

This runs after every command, so it is built for the common path: the standard library's
``sqlite3`` only, WAL with ``synchronous=NORMAL``, a short busy timeout, one transaction, and a
schema check that is a single ``PRAGMA user_version``. It never raises: a locked, read-only, full
or corrupt database costs the event, never the command's output or exit code.
"""

from __future__ import annotations

import os
import sqlite3
import time
from typing import Any

from nexus_cli import __version__, paths, sqlite_open
from nexus_cli.telemetry.record.invocation import Invocation, current
from nexus_cli.telemetry.store import schema

SESSION_IDLE_SECONDS = 30 * 60
_COUNTERS = ("workspaces_created", "tasks_completed")
BUSY_TIMEOUT_SECONDS = 0.1

_INSERT_EVENT = (
    f"INSERT INTO events ({', '.join(schema.EVENT_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in schema.EVENT_COLUMNS)})"
)
_UPSERT_SESSION = """
INSERT INTO sessions (session_id, shell_key, started_at, ended_at, duration_ms,
                      commands_executed, workspaces_created, tasks_completed, errors_encountered)
VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)
ON CONFLICT (session_id) DO UPDATE SET
    ended_at = excluded.ended_at,
    duration_ms = CAST(round((julianday(excluded.ended_at) - julianday(started_at)) * 86400000)
                       AS INTEGER),
    commands_executed = commands_executed + 1,
    workspaces_created = workspaces_created + excluded.workspaces_created,
    tasks_completed = tasks_completed + excluded.tasks_completed,
    errors_encountered = errors_encountered + excluded.errors_encountered
"""


def _utc(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}"


def connect(path: str) -> sqlite3.Connection:
    """Open the telemetry database for writing, creating it (mode 0600) and its schema if needed."""
    conn = sqlite_open.open_private(path, timeout=BUSY_TIMEOUT_SECONDS)
    conn.execute("PRAGMA synchronous=NORMAL")
    if conn.execute("PRAGMA user_version").fetchone()[0] < schema.BASE_VERSION:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript("BEGIN IMMEDIATE;" + schema.BASE_SCHEMA + "COMMIT;")
        conn.execute(f"PRAGMA user_version={schema.BASE_VERSION}")
    return conn


def _session(conn: sqlite3.Connection, now: float) -> tuple[str, str]:
    """Return ``(session_id, shell_key)`` for this invocation."""
    explicit = os.environ.get("NEXUS_SESSION_ID", "").strip()
    if explicit and not explicit.isprintable():  # undecodable bytes or control characters
        explicit = "".join(ch for ch in explicit if ch.isprintable()).strip()
    if explicit:
        return explicit[:128], "env"
    shell_key = f"ppid:{os.getppid()}"
    row = conn.execute(
        "SELECT session_id, ended_at FROM sessions WHERE shell_key = ? "
        "ORDER BY ended_at DESC LIMIT 1",
        (shell_key,),
    ).fetchone()
    if row is not None and row[1] >= _utc(now - SESSION_IDLE_SECONDS):
        return str(row[0]), shell_key
    return f"s{int(now * 1000):x}{os.getppid():x}", shell_key


def _raw_data(inv: Invocation) -> str | None:
    counts = {k: inv.fields[k] for k in _COUNTERS if inv.fields.get(k)}
    if not (inv.option_names or inv.metrics or inv.signals or counts):
        return None
    import json  # only when there is something to encode

    data: dict[str, Any] = {}
    if inv.option_names:
        data["options"] = inv.option_names
    if inv.metrics:
        data["metrics"] = inv.metrics
    if inv.signals:
        data["signals"] = inv.signals
    if counts:  # per-event counters, so windowed stats need not trust session boundaries
        data["counts"] = counts
    return json.dumps(data, separators=(",", ":"), sort_keys=True)


def _hash(value: Any, kind: str) -> str | None:
    if value is None or value == "":
        return None
    from nexus_cli.telemetry.record.privacy import hash_name

    return hash_name(str(value), kind=kind)


def build_row(
    inv: Invocation, exit_code: int, now: float, duration_ms: int, session_id: str
) -> tuple[Any, ...]:
    fields = inv.fields
    success = exit_code == 0
    category = fields.get("error_category")
    if category is None and not success:
        category = "error"
    return (
        _utc(now),
        session_id,
        str(fields.get("event_type") or "command"),
        _hash(fields.get("workspace"), "workspace"),
        _hash(fields.get("task"), "task"),
        inv.command or None,
        duration_ms,
        1 if success else 0,
        category,
        fields.get("template_used"),
        fields.get("services_count"),
        fields.get("ports_used"),
        _raw_data(inv),
        exit_code,
        __version__,
    )


def record(inv: Invocation, exit_code: int) -> bool:
    """Store the invocation. Returns False (silently) when it could not be stored."""
    try:
        now = time.time()
        duration_ms = int((time.perf_counter() - inv.started) * 1000)
        conn = connect(paths.telemetry_db_str())
        try:
            conn.execute("BEGIN IMMEDIATE")
            session_id, shell_key = _session(conn, now)
            row = build_row(inv, exit_code, now, duration_ms, session_id)
            conn.execute(_INSERT_EVENT, row)
            conn.execute(
                _UPSERT_SESSION,
                (
                    session_id,
                    shell_key,
                    row[0],
                    row[0],
                    0,
                    int(inv.fields.get("workspaces_created", 0)),
                    int(inv.fields.get("tasks_completed", 0)),
                    0 if exit_code == 0 else 1,
                ),
            )
            conn.execute("COMMIT")
        finally:
            conn.close()
        return True
    except Exception:
        return False


def record_event(inv: Invocation, exit_code: int, duration_ms: int) -> bool:
    """Store one extra event (e.g. a ``loop`` iteration) inside the current invocation.

    ``inv`` is a fresh :class:`Invocation` whose fields say what happened (``event_type``,
    ``task``...). Only the ``events`` row is written: the session counters stay with the command's
    own event. Honours the telemetry switches; returns False (silently) when nothing was stored.
    """
    from nexus_cli.telemetry.record import settings

    parent = current()
    if not settings.decide(bool(parent and parent.no_telemetry))[0]:
        return False
    try:
        now = time.time()
        conn = connect(paths.telemetry_db_str())
        try:
            conn.execute("BEGIN IMMEDIATE")
            session_id, _ = _session(conn, now)
            conn.execute(_INSERT_EVENT, build_row(inv, exit_code, now, duration_ms, session_id))
            conn.execute("COMMIT")
        finally:
            conn.close()
        return True
    except Exception:
        return False
