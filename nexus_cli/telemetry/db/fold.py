"""Fold the journal into ``telemetry.db``: transactional, idempotent, crash-safe.

:func:`fold` is the one write a read makes, and :func:`nexus_cli.telemetry.db.store.opened` is
the one place that calls it: what the recorder appended since the last open becomes ``events``
rows (:func:`fold_journal`), then the roll-ups take in the new events
(:func:`nexus_cli.telemetry.db.rollups.fold`). Nothing under ``telemetry/query`` folds.

Writers (:mod:`nexus_cli.telemetry.journal.file`) append whole records to
``telemetry-journal/events`` under the journal's lock. A journal fold, under ``fold.lock``:

1. renames ``events`` to ``fold-<time>-<random>`` (a *segment*) under the journal's lock, so
   every writer has either finished its write or appends to a new ``events``;
2. for each segment, in one transaction: skips it if ``maintenance`` already holds its marker
   (a fold that committed, then crashed before removing it), else inserts its valid entries
   and the marker;
3. removes the segment, then its marker.

Entries are untrusted input: each goes through :func:`entry.check` (the recorder's own check),
then :func:`quarantine.raw_data_problem` (numbers every reader can add up). A torn, malformed or
repeated (same ``uid``) record, or one that still makes its insert raise, is skipped, counted in
``maintenance`` (key ``journal_skipped``, and per reason) and kept aside in the ``quarantine``
table (:mod:`~nexus_cli.telemetry.db.quarantine`), never raised: the good records of the segment
are stored.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from typing import Any

from nexus_cli import fs, paths, sqlite_open
from nexus_cli.errors import StateError
from nexus_cli.telemetry.db import quarantine, rollups, schema
from nexus_cli.telemetry.db.handle import Db
from nexus_cli.telemetry.db.schema import utc
from nexus_cli.telemetry.journal import file, reader

MARKER_PREFIX = "journal:"
SKIPPED_KEY = "journal_skipped"
SESSION_IDLE_SECONDS = 30 * 60

# Straight into event_rows (the view's trigger would look every string up again per row).
_INSERT_EVENT = (
    f"INSERT INTO event_rows ({', '.join(schema.ROW_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in schema.ROW_COLUMNS)})"
)


class Strings:
    """The ``strings`` ids of the values one transaction stores (schema.INTERNED): each looked
    up, or added, once. :meth:`forget` after a rollback (ids it handed out may be gone)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.ids: dict[Any, int] = {}

    def id(self, value: Any) -> int | None:
        if value is None:
            return None
        found = self.ids.get(value)
        if found is None:
            row = self.conn.execute("SELECT id FROM strings WHERE value = ?", (value,)).fetchone()
            if row is None:
                cursor = self.conn.execute("INSERT INTO strings (value) VALUES (?)", (value,))
                found = int(cursor.lastrowid or 0)
            else:
                found = int(row[0])
            self.ids[value] = found
        return found

    def forget(self) -> None:
        self.ids.clear()


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


def fold(db: Db) -> dict[str, int]:
    """Bring ``db`` up to date: the journal into ``events``, then the new events into the
    roll-ups. Returns what was done: ``stored`` and ``skipped`` entries, ``rolled`` events."""
    stored, skipped = fold_journal(db)
    return {"stored": stored, "skipped": skipped, "rolled": rollups.fold(db)}


def fold_journal(db: Db) -> tuple[int, int]:
    """Fold the journal into ``db`` when it is the telemetry database; ``(stored, skipped)``.

    A journal folder that cannot be used is one clear :class:`StateError`.
    """
    if os.path.abspath(db.path) != os.path.abspath(paths.telemetry_db_str()):
        return 0, 0  # another database (a benchmark's, say): the journal is not its
    folder = file.journal_dir()
    try:
        return _fold_folder(db.conn, folder)
    except OSError as exc:
        raise StateError(
            f"cannot fold the telemetry journal {folder}: {exc.strerror or exc}",
            hint=paths.folder_error(folder, exc).hint,
        ) from None


def _fold_folder(conn: sqlite3.Connection, folder: str) -> tuple[int, int]:
    """Fold every segment of ``folder`` into ``conn`` (a migrated database)."""
    if not os.path.isdir(folder):
        return 0, 0
    stored = skipped = 0
    with fs.locked(os.path.join(folder, file.FOLD_LOCK_FILE)):
        file.take_live(folder)
        uids: set[str] = set()
        for name in file.segments(folder):
            added, bad = _fold_segment(conn, folder, name, uids)
            stored, skipped = stored + added, skipped + bad
    return stored, skipped


def _fold_segment(
    conn: sqlite3.Connection, folder: str, name: str, uids: set[str]
) -> tuple[int, int]:
    path = os.path.join(folder, name)
    marker = MARKER_PREFIX + name
    fd = file.open_segment(path)
    if fd is None:
        return 0, 0
    try:
        trial = set(uids)  # left as it was if this try rolls back
        try:
            stored, skipped = _fold_once(conn, fd, marker, trial, isolate=False)
        except quarantine.ROW_ERRORS:
            # A record passed every check and still made an insert raise: fold the segment
            # again, each record on its own, and put aside the ones that raise.
            os.lseek(fd, 0, os.SEEK_SET)
            stored, skipped = _fold_once(conn, fd, marker, uids, isolate=True)
        else:
            uids.update(trial)
    finally:
        os.close(fd)
    file.remove(path)
    conn.execute("DELETE FROM maintenance WHERE key = ?", (marker,))
    return stored, skipped


def _fold_once(
    conn: sqlite3.Connection, fd: int, marker: str, uids: set[str], *, isolate: bool
) -> tuple[int, int]:
    """Fold one segment in one transaction (nothing when its marker says it was)."""
    stored = skipped = 0
    with sqlite_open.transaction(conn):
        done = conn.execute("SELECT 1 FROM maintenance WHERE key = ?", (marker,)).fetchone()
        if done is None:
            stored, skipped = _insert_all(conn, reader.read(fd), uids, isolate=isolate)
            conn.execute("INSERT INTO maintenance (key, value) VALUES (?, ?)", (marker, "1"))
            _count_skipped(conn, skipped)
    return stored, skipped


def _insert_all(
    conn: sqlite3.Connection, items: Iterator[reader.Read], uids: set[str], *, isolate: bool
) -> tuple[int, int]:
    """Insert the entries read from a segment, each ``uid`` once; every other record is put
    aside (:mod:`~nexus_cli.telemetry.db.quarantine`). With ``isolate``, each insert runs in a
    savepoint, and a record whose insert raises is put aside too."""
    stored = skipped = 0
    strings = Strings(conn)
    for item in items:
        reason, detail = _problem(item, uids), None
        if reason is None and item.entry is not None:
            if not isolate:
                _insert(conn, item.entry, strings)
            else:
                conn.execute("SAVEPOINT record")
                try:
                    _insert(conn, item.entry, strings)
                except quarantine.ROW_ERRORS as exc:
                    conn.execute("ROLLBACK TO record")
                    strings.forget()
                    reason, detail = quarantine.error_reason(exc)
                conn.execute("RELEASE record")
        if reason is not None:
            quarantine.put(conn, "journal", reason, item.data, detail)
            skipped += 1
            continue
        assert item.entry is not None
        uids.add(item.entry["uid"])
        stored += 1
    return stored, skipped


def _problem(item: reader.Read, uids: set[str]) -> str | None:
    """Why a record read back is not stored (None: it is)."""
    if item.entry is None:
        return item.reason or "unreadable"
    if item.entry["uid"] in uids:
        return "repeated uid"
    return quarantine.raw_data_problem(item.entry["raw_data"])


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


def _insert(conn: sqlite3.Connection, item: dict[str, Any], strings: Strings) -> None:
    session_id, shell_key = _session(conn, item)
    timestamp = utc(item["t"])
    row = {**item, "at_ms": item["t"], "session_id": session_id}
    conn.execute(
        _INSERT_EVENT,
        [strings.id(row[c]) if c in schema.INTERNED else row[c] for c in schema.ROW_COLUMNS],
    )
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
