"""The agent usage tables of ``telemetry.db``: what agents spent, and how far each log was read.

``agent_usage`` holds one row per unit of usage (:class:`~nexus_cli.telemetry.agents.records.
UsageRecord`): counts, a model identifier, a moment, salted hashes (of the session, the attributed task and the project);
its primary key is the record's salted key, so a unit stored twice is one row.
``agent_sessions`` holds, per agent session started by ``nexus loop``, the salted hash of the
task it was started for (``NEXUS_TASK_ID``, recorded by the session-start hook).
``agent_log_marks`` holds, per log file (by the salted hash of its path: no path is stored), the
file's device and inode and the byte offset read up to, so the next ingest reads only what was
appended. Both are created by migration ``m010_agent_usage`` in :mod:`store`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from nexus_cli.telemetry.db.handle import Db

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS agent_usage ("
    " key TEXT PRIMARY KEY,"
    " source TEXT NOT NULL,"
    " session_hash TEXT NOT NULL,"
    " model TEXT NOT NULL,"
    " at_ms INTEGER NOT NULL,"
    " input_tokens INTEGER NOT NULL DEFAULT 0,"
    " output_tokens INTEGER NOT NULL DEFAULT 0,"
    " cache_write_tokens INTEGER NOT NULL DEFAULT 0,"
    " cache_read_tokens INTEGER NOT NULL DEFAULT 0,"
    " reported_cost_usd REAL,"
    " task_hash TEXT,"
    " project_hash TEXT)",
    "CREATE INDEX IF NOT EXISTS agent_usage_time ON agent_usage (at_ms)",
    "CREATE TABLE IF NOT EXISTS agent_log_marks ("
    " file_hash TEXT PRIMARY KEY,"
    " device INTEGER NOT NULL,"
    " inode INTEGER NOT NULL,"
    " offset INTEGER NOT NULL,"
    " read_at_ms INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS agent_sessions ("
    " session_hash TEXT PRIMARY KEY,"
    " task_hash TEXT NOT NULL,"
    " at_ms INTEGER NOT NULL)",
)


@dataclass
class UsageRecord:
    """One unit of agent usage, as stored (see :mod:`nexus_cli.telemetry.agents.records`)."""

    key: str
    source: str
    session_hash: str
    model: str
    at_ms: int
    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    reported_cost_usd: float | None = None
    task_id: str | None = None  # attributed task (in memory only: task_hash is stored)
    task_hash: str | None = None
    project_hash: str | None = None

    @property
    def tokens(self) -> int:
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_write_tokens
            + self.cache_read_tokens
        )


_COLUMNS = (
    "key, source, session_hash, model, at_ms, input_tokens, output_tokens, cache_write_tokens, "
    "cache_read_tokens, reported_cost_usd, task_hash, project_hash"
)


def _row(r: UsageRecord) -> tuple[object, ...]:
    return (
        r.key,
        r.source,
        r.session_hash,
        r.model,
        r.at_ms,
        r.input_tokens,
        r.output_tokens,
        r.cache_write_tokens,
        r.cache_read_tokens,
        r.reported_cost_usd,
        r.task_hash,
        r.project_hash,
    )


def add(db: Db, records: Iterable[UsageRecord]) -> int:
    """Store records not stored yet (by key); how many were new. Call inside a transaction."""
    before = db.conn.total_changes
    db.conn.executemany(
        f"INSERT OR IGNORE INTO agent_usage ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        [_row(r) for r in records],
    )
    return db.conn.total_changes - before


def put(db: Db, records: Iterable[UsageRecord]) -> int:
    """Store records, replacing the counts of a stored record with the same key (a cumulative
    OTLP series reports its running total again); how many rows changed."""
    before = db.conn.total_changes
    db.conn.executemany(
        f"INSERT INTO agent_usage ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) "
        "ON CONFLICT(key) DO UPDATE SET at_ms = excluded.at_ms,"
        " input_tokens = max(input_tokens, excluded.input_tokens),"
        " output_tokens = max(output_tokens, excluded.output_tokens),"
        " cache_write_tokens = max(cache_write_tokens, excluded.cache_write_tokens),"
        " cache_read_tokens = max(cache_read_tokens, excluded.cache_read_tokens),"
        " reported_cost_usd = excluded.reported_cost_usd,"
        " task_hash = coalesce(task_hash, excluded.task_hash),"
        " project_hash = coalesce(project_hash, excluded.project_hash)",
        [_row(r) for r in records],
    )
    return db.conn.total_changes - before


def existing(db: Db, keys: Iterable[str]) -> set[str]:
    """Which of ``keys`` are stored already."""
    wanted = list(keys)
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        part = wanted[start : start + 500]
        marks = ",".join("?" * len(part))
        found.update(
            r[0] for r in db.execute(f"SELECT key FROM agent_usage WHERE key IN ({marks})", part)
        )
    return found


@dataclass(frozen=True)
class Mark:
    device: int
    inode: int
    offset: int


def mark(db: Db, file_hash: str) -> Mark | None:
    row = db.execute(
        "SELECT device, inode, offset FROM agent_log_marks WHERE file_hash = ?", (file_hash,)
    ).fetchone()
    return None if row is None else Mark(int(row[0]), int(row[1]), int(row[2]))


def set_mark(db: Db, file_hash: str, where: Mark, now_ms: int) -> None:
    db.execute(
        "INSERT INTO agent_log_marks (file_hash, device, inode, offset, read_at_ms) "
        "VALUES (?,?,?,?,?) ON CONFLICT(file_hash) DO UPDATE SET device = excluded.device,"
        " inode = excluded.inode, offset = excluded.offset, read_at_ms = excluded.read_at_ms",
        (file_hash, where.device, where.inode, where.offset, now_ms),
    )


@dataclass(frozen=True)
class StoredUsage:
    """A stored row, as the cost figures read it."""

    source: str
    session_hash: str
    model: str
    at_ms: int
    input_tokens: int
    output_tokens: int
    cache_write_tokens: int
    cache_read_tokens: int
    reported_cost_usd: float | None
    task_hash: str | None
    project_hash: str | None


def rows(db: Db, since_ms: int | None, until_ms: int | None) -> list[StoredUsage]:
    """The stored rows in ``[since_ms, until_ms)`` (None: unbounded), oldest first."""
    found = db.execute(
        "SELECT source, session_hash, model, at_ms, input_tokens, output_tokens,"
        " cache_write_tokens, cache_read_tokens, reported_cost_usd, task_hash, project_hash"
        " FROM agent_usage WHERE at_ms >= ? AND at_ms < ? ORDER BY at_ms",
        (
            since_ms if since_ms is not None else -(2**62),
            until_ms if until_ms is not None else 2**62,
        ),
    )
    return [StoredUsage(*r) for r in found]


def forget_before(db: Db, cutoff_ms: int) -> int:
    """Delete usage older than ``cutoff_ms`` (retention); how many rows. Inside a transaction.
    The marks stay: a log already read is not read again."""
    try:
        gone = db.execute("DELETE FROM agent_usage WHERE at_ms < ?", (cutoff_ms,)).rowcount
        db.execute("DELETE FROM agent_sessions WHERE at_ms < ?", (cutoff_ms,))
        return int(gone)
    except sqlite3.OperationalError:  # a database before migration 10 (tests build those)
        return 0


def name_session(db: Db, session_hash: str, task_hash: str, at_ms: int) -> None:
    """Record that the agent session ``session_hash`` works on task ``task_hash``."""
    db.execute(
        "INSERT INTO agent_sessions (session_hash, task_hash, at_ms) VALUES (?,?,?) "
        "ON CONFLICT(session_hash) DO UPDATE SET task_hash = excluded.task_hash,"
        " at_ms = excluded.at_ms",
        (session_hash, task_hash, at_ms),
    )


def session_tasks(db: Db) -> dict[str, str]:
    """session hash -> task hash, for the sessions a task was named for."""
    return {r[0]: r[1] for r in db.execute("SELECT session_hash, task_hash FROM agent_sessions")}
