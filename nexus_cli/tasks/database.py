"""Opening ``.nexus/tasks.db`` (created, migrated, in WAL mode), and the ID lookups over it.

Kept apart from :mod:`nexus_cli.tasks.store` because completing a task ID is a hot path: it
reads two columns and loads neither the task model nor tasks.jsonl (which the store syncs).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import threading
from pathlib import Path

from nexus_cli import migrations, safe_path, sqlite_open
from nexus_cli.errors import StateError
from nexus_cli.project import Project, find_project
from nexus_cli.tasks import ids, schema

DB_NAME = "tasks.db"
BUSY_TIMEOUT_MS = 30_000


def db_path(project: Project) -> Path:
    return project.nexus_dir / DB_NAME


# Creating the file, switching it to WAL and migrating it happen under this lock (in
# .nexus/state/, never committed), so that processes starting at the same moment wait for the one
# that prepares a new database instead of racing it.
PREPARE_LOCK = "tasks-db.lock"
# Threads of one process (the loop and its lease keeper, `nexus mcp`) create the file one at a time.
_CREATING = threading.Lock()


def _prepare_lock(project: Project) -> contextlib.AbstractContextManager[None]:
    return safe_path.locked(project.root, project.state_dir / PREPARE_LOCK, makedirs=True)


def _checked_path(project: Project) -> Path:
    """``.nexus/tasks.db``, checked through folders opened without following links.

    SQLite opens files by name, so the database and the journal files beside it are checked
    first: a link committed as ``.nexus``, ``tasks.db`` or ``tasks.db-wal`` is refused. The
    database file itself is never opened here: SQLite's locks are POSIX record locks, which the
    kernel drops for the whole process when *any* descriptor of the file is closed. Opening and
    closing ``tasks.db`` beside a live connection (the loop's lease keeper did, on every
    heartbeat) silently dropped that connection's locks, and another process closing its last
    connection then deleted the WAL under it: "disk I/O error".
    """
    path = db_path(project)
    for suffix in ("-wal", "-shm", "-journal"):
        safe_path.verified(project.root, path.with_name(path.name + suffix))
    return safe_path.verified(project.root, path)


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


def _create(project: Project, path: Path) -> None:
    """Make the empty database file 0600 (it is new: no connection of this process has it open)."""
    with _CREATING:
        if _is_regular(path):
            return
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
            os.close(safe_path.open_file(project.root, path, flags, 0o600))
        except FileExistsError:
            pass  # another process made it meanwhile; SQLite says what it is
        except OSError as exc:
            raise StateError(
                f"cannot open the task database {path}: {exc.strerror or exc}"
            ) from None


def _prepare(project: Project, conn: sqlite3.Connection, path: Path) -> None:
    """WAL mode and the pending migrations, under :data:`PREPARE_LOCK` when there is work.

    Costs two PRAGMA reads when the database is ready (the common case)."""
    if (
        migrations.version(conn) == schema.LATEST
        and str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal"
    ):
        return
    with _prepare_lock(project):
        conn.execute("PRAGMA journal_mode = WAL")
        migrations.migrate(conn, schema.MIGRATIONS, what=f"task database {path}")


def connect(project: Project) -> sqlite3.Connection:
    """The task database of ``project``, created and migrated as needed (autocommit)."""
    project.require_initialized()
    path = _checked_path(project)
    if not _is_regular(path):
        with _prepare_lock(project):
            _create(project, path)
    try:
        with _CREATING:  # never beside a descriptor that _create is about to close
            conn = sqlite_open.open_private(str(path), timeout=BUSY_TIMEOUT_MS / 1000)
    except OSError as exc:
        raise StateError(f"cannot open the task database {path}: {exc.strerror or exc}") from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _prepare(project, conn, path)
        conn.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.DatabaseError as exc:
        conn.close()
        if "locked" in str(exc):
            raise StateError(f"task database is busy or locked: {exc}") from None
        raise StateError(
            f"task database {path} is unreadable: {exc}",
            hint="move it aside; it is rebuilt from .nexus/tasks.jsonl on the next command",
        ) from None
    except BaseException:
        conn.close()
        raise
    return conn


def ids_with_prefix(conn: sqlite3.Connection, prefix: str, limit: int = 11) -> list[str]:
    rows = conn.execute(
        "SELECT id FROM tasks WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
        (prefix, prefix + "\U0010ffff", limit),
    )
    return [r[0] for r in rows]


def titles(conn: sqlite3.Connection, task_ids: list[str]) -> dict[str, tuple[str, str]]:
    """id -> (title, status) of each of ``task_ids`` found."""
    marks = ",".join("?" * len(task_ids))
    sql = f"SELECT id, title, status FROM tasks WHERE id IN ({marks})"
    return {r[0]: (r[1], r[2]) for r in conn.execute(sql, task_ids)}


def complete_ids(incomplete: str) -> list[tuple[str, str]]:
    """Shell completion source: task IDs (with or without the ``nx-`` prefix) and their titles."""
    conn = connect(find_project())
    try:
        prefix = ids.normalise_prefix(incomplete) if incomplete else ids.ID_PREFIX
        found = ids_with_prefix(conn, prefix, limit=200)
        named = titles(conn, found) if found else {}
    finally:
        conn.close()
    strip = bool(incomplete) and not incomplete.lower().startswith(ids.ID_PREFIX)
    return [(i[len(ids.ID_PREFIX) :] if strip else i, named.get(i, ("", ""))[0]) for i in found]
