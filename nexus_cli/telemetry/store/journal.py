"""Fold the telemetry journal into ``telemetry.db``: transactional, idempotent, crash-safe.

Writers (:mod:`nexus_cli.telemetry.record.recorder`) append whole records to
``telemetry-journal/events``, each under a ``lockf`` lock held for that one write. A fold, under
``fold.lock``:

1. renames ``events`` to ``fold-<time>-<random>`` (a *segment*) and takes the segment's lock
   once, so every writer that opened it before the rename has finished (a writer that finds the
   file at the path changed writes to the new ``events`` instead);
2. for each segment, in one transaction: skips it if ``maintenance`` already holds its marker
   (a fold that committed, then crashed before removing it), else inserts its valid entries
   and the marker;
3. removes the segment, then its marker.

Entries are untrusted input: each goes through :func:`entry.check` (the recorder's own check);
a torn, malformed or repeated (same ``uid``) record is skipped and counted in ``maintenance``
(key ``journal_skipped``), never raised.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat
import time
from collections.abc import Iterator
from typing import Any

from nexus_cli import fs, paths
from nexus_cli.errors import StateError
from nexus_cli.telemetry.record import entry, recorder
from nexus_cli.telemetry.store import schema

LOCK_FILE = "fold.lock"
SEGMENT_PREFIX = "fold-"
MARKER_PREFIX = "journal:"
SKIPPED_KEY = "journal_skipped"
SESSION_IDLE_SECONDS = 30 * 60
_CHUNK = 1024 * 1024

_INSERT_EVENT = (
    f"INSERT INTO events ({', '.join(schema.EVENT_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in schema.EVENT_COLUMNS)})"
)
_UPSERT_SESSION = """
INSERT INTO sessions (session_id, shell_key, started_at, ended_at, duration_ms,
                      commands_executed, workspaces_created, tasks_completed, errors_encountered)
VALUES (?, ?, ?, ?, 0, 1, ?, ?, ?)
ON CONFLICT (session_id) DO UPDATE SET
    started_at = min(started_at, excluded.started_at),
    ended_at = max(ended_at, excluded.ended_at),
    duration_ms = CAST(round((julianday(max(ended_at, excluded.ended_at))
                              - julianday(min(started_at, excluded.started_at))) * 86400000)
                       AS INTEGER),
    commands_executed = commands_executed + 1,
    workspaces_created = workspaces_created + excluded.workspaces_created,
    tasks_completed = tasks_completed + excluded.tasks_completed,
    errors_encountered = errors_encountered + excluded.errors_encountered
"""


def utc(ms: int) -> str:
    """The ``events.timestamp`` text of Unix milliseconds ``ms``."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}"


def pending() -> bool:
    """Whether the journal folder holds anything to fold (one ``listdir``)."""
    try:
        names = os.listdir(recorder.journal_dir())
    except OSError:
        return False
    return any(n == recorder.JOURNAL_FILE or n.startswith(SEGMENT_PREFIX) for n in names)


def fold_into(conn: sqlite3.Connection, path: str) -> tuple[int, int]:
    """Fold the journal into ``conn`` when it is the telemetry database (``path``).

    ``(stored, skipped)``; a journal folder that cannot be used is one clear :class:`StateError`.
    """
    if os.path.abspath(path) != os.path.abspath(paths.telemetry_db_str()):
        return 0, 0  # another database (a benchmark's, say): the journal is not its
    try:
        return fold(conn)
    except OSError as exc:
        raise StateError(
            f"cannot fold the telemetry journal {recorder.journal_dir()}: {exc.strerror or exc}",
            hint=paths.folder_error(recorder.journal_dir(), exc).hint,
        ) from None


def fold(conn: sqlite3.Connection) -> tuple[int, int]:
    """Fold every journal entry into ``conn`` (a migrated database); ``(stored, skipped)``."""
    folder = recorder.journal_dir()
    if not os.path.isdir(folder):
        return 0, 0
    stored = skipped = 0
    with fs.locked(os.path.join(folder, LOCK_FILE)):
        _take_live(folder)
        uids: set[str] = set()
        for name in sorted(n for n in os.listdir(folder) if n.startswith(SEGMENT_PREFIX)):
            added, bad = _fold_segment(conn, folder, name, uids)
            stored, skipped = stored + added, skipped + bad
    return stored, skipped


def _take_live(folder: str) -> None:
    """Rename the live file to a new segment and wait for the writers that had it open."""
    live = os.path.join(folder, recorder.JOURNAL_FILE)
    # named by time first, so that segments left by an interrupted fold are folded in order
    segment = os.path.join(folder, f"{SEGMENT_PREFIX}{time.time_ns():020d}-{os.urandom(8).hex()}")
    try:
        os.rename(live, segment)
    except FileNotFoundError:
        return
    try:
        fd = os.open(segment, os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return  # not a regular file (a link, a FIFO): _fold_segment discards it
    try:
        with recorder.APPEND_LOCK:  # this process's own writers (threads) as well
            os.lockf(fd, os.F_LOCK, 0)
            os.lockf(fd, os.F_ULOCK, 0)
    finally:
        os.close(fd)


def _fold_segment(
    conn: sqlite3.Connection, folder: str, name: str, uids: set[str]
) -> tuple[int, int]:
    path = os.path.join(folder, name)
    marker = MARKER_PREFIX + name
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        _discard(path)  # a symbolic link put in the journal's place: removed, never followed
        return 0, 0
    stored = skipped = 0
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            _discard(path)
            return 0, 0
        conn.execute("BEGIN IMMEDIATE")
        try:
            done = conn.execute("SELECT 1 FROM maintenance WHERE key = ?", (marker,)).fetchone()
            if done is None:
                stored, skipped = _insert_all(conn, _records(fd), uids)
                conn.execute("INSERT INTO maintenance (key, value) VALUES (?, ?)", (marker, "1"))
                _count_skipped(conn, skipped)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        os.close(fd)
    _remove(path)
    conn.execute("DELETE FROM maintenance WHERE key = ?", (marker,))
    return stored, skipped


def _discard(path: str) -> None:
    """Remove what is not a journal file (a link itself, not its target; a FIFO); never raises."""
    with contextlib.suppress(OSError):  # a folder, say: left alone, and skipped by every fold
        os.unlink(path)


def _remove(segment: str) -> None:
    """Remove a folded segment (its marker, committed with its events, guards the gap)."""
    os.unlink(segment)


def _records(fd: int) -> Iterator[bytes]:
    """The records of a segment (the bytes between separators); oversized ones as ``b"?"``."""
    buf = b""
    dropping = False  # inside a record already reported as oversized
    while chunk := os.read(fd, _CHUNK):
        parts = (buf + chunk).split(entry.SEPARATOR)
        buf = parts.pop()
        for part in parts:
            if not dropping:
                yield part
            dropping = False
        if len(buf) > entry.MAX_ENTRY_BYTES:
            if not dropping:
                yield b"?"
            buf, dropping = b"", True
    if buf and not dropping:
        yield buf


def _insert_all(
    conn: sqlite3.Connection, records: Iterator[bytes], uids: set[str]
) -> tuple[int, int]:
    stored = skipped = 0
    for record in records:
        body, newline, rest = record.partition(b"\n")  # a record's JSON holds no raw newline
        if rest.strip():
            skipped += 1  # bytes after a record, without a separator of their own
        if not body.strip():
            continue  # what precedes the first separator, or blank padding
        try:
            item = entry.decode(body + newline)
        except entry.BadEntry:
            skipped += 1
            continue
        if item["uid"] in uids:
            skipped += 1
            continue
        uids.add(item["uid"])
        _insert(conn, item)
        stored += 1
    return stored, skipped


def _session(conn: sqlite3.Connection, item: dict[str, Any]) -> tuple[str, str]:
    """``(session_id, shell_key)``: the explicit one, else the shell's within the idle window."""
    if item["sid"] is not None:
        return str(item["sid"]), "env"
    shell_key = f"ppid:{item['ppid']}"
    row = conn.execute(
        "SELECT session_id, ended_at FROM sessions WHERE shell_key = ? "
        "ORDER BY ended_at DESC LIMIT 1",
        (shell_key,),
    ).fetchone()
    if row is not None and row[1] >= utc(item["t"] - SESSION_IDLE_SECONDS * 1000):
        return str(row[0]), shell_key
    return f"s{item['t']:x}{item['ppid']:x}", shell_key


def _insert(conn: sqlite3.Connection, item: dict[str, Any]) -> None:
    session_id, shell_key = _session(conn, item)
    timestamp = utc(item["t"])
    row = {**item, "timestamp": timestamp, "session_id": session_id}
    conn.execute(_INSERT_EVENT, [row[c] for c in schema.EVENT_COLUMNS])
    if not item["main"]:
        return
    counts = json.loads(item["raw_data"]).get("counts", {}) if item["raw_data"] else {}
    conn.execute(
        _UPSERT_SESSION,
        (
            session_id,
            shell_key,
            timestamp,
            timestamp,
            _count(counts, "workspaces_created"),
            _count(counts, "tasks_completed"),
            0 if item["exit_code"] == 0 else 1,
        ),
    )


def _count(counts: Any, key: str) -> int:
    value = counts.get(key, 0) if isinstance(counts, dict) else 0
    return value if type(value) is int and 0 <= value < 2**31 else 0


def _count_skipped(conn: sqlite3.Connection, skipped: int) -> None:
    if skipped:
        conn.execute(
            "INSERT INTO maintenance (key, value) VALUES (?, ?) ON CONFLICT (key) "
            "DO UPDATE SET value = CAST(value AS INTEGER) + excluded.value",
            (SKIPPED_KEY, str(skipped)),
        )
