"""The one owner of ``.nexus/tasks.db``: connection, migrations, sync with tasks.jsonl, queries.

The database is the fast working copy; ``.nexus/tasks.jsonl`` is the shared record. Every write
happens inside ``BEGIN IMMEDIATE`` (:meth:`TaskStore.write`): re-import the file if another
process or a ``git pull`` changed it, apply the change, rewrite the file atomically, commit.
Readers import the file first when its size/mtime — then its content hash — changed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from nexus_cli import jsonio, safe_path, terminal
from nexus_cli.errors import StateError, UsageError
from nexus_cli.project import TASKS_FILE, Project
from nexus_cli.tasks import database, jsonl, provenance, record
from nexus_cli.tasks.model import Task, parse_doc
from nexus_cli.tasks.statuses import FINISHED, STATUSES

# Opening the database (and completing a task ID, which needs neither tasks.jsonl nor the task
# model) is in nexus_cli.tasks.database.
_UNFINISHED_DEP = (
    "SELECT 1 FROM deps d JOIN tasks u ON u.id = d.depends_on "
    f"WHERE d.task_id = t.id AND u.status NOT IN {FINISHED!r}"
)

# One indexed walk of the open tasks in (priority, age) order that stops at LIMIT; each row's
# unfinished dependencies are probed through the deps primary key and the tasks primary key.
READY_SQL = (
    "SELECT doc FROM tasks t INDEXED BY ix_tasks_ready WHERE t.status = 'open' "
    f"AND (t.assignee IS NULL OR t.assignee = ?) AND NOT EXISTS ({_UNFINISHED_DEP}) "
    "ORDER BY t.priority, t.created_at, t.id"
)


class TaskStore:
    def __init__(self, project: Project, conn: sqlite3.Connection) -> None:
        self.project = project
        self.conn = conn
        self.jsonl_path = project.nexus_dir / TASKS_FILE
        self._in_write = False

    # --- transactions and sync ----------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[TaskStore]:
        """One atomic change: lock, import if changed, change, export tasks.jsonl, commit."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StateError(f"task database is busy or locked: {exc}") from None
        self._in_write = True
        try:
            self._import_if_changed()
            yield self
            self._export()
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        finally:
            self._in_write = False

    def sync(self) -> None:
        """Import tasks.jsonl if it changed since this database last saw it."""
        if self._file_signature() == self._meta("jsonl_sig"):
            return
        with self.write():
            pass

    def _file_signature(self) -> str | None:
        try:
            st = self.jsonl_path.stat()
        except FileNotFoundError:
            return None
        return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"

    def _meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str | None) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def _import_if_changed(self) -> None:
        sig = self._file_signature()
        if sig is None or sig == self._meta("jsonl_sig"):
            return  # a missing file is rewritten from the database by _export
        data = safe_path.read_bytes(self.project.root, self.jsonl_path)  # no link on the way
        digest = jsonl.content_hash(data)
        if digest != self._meta("jsonl_hash"):
            parsed = jsonl.read(data, source=str(self.jsonl_path))
            provenance.record_imported_changes(self._gates_by_task(), parsed.tasks)
            self._replace_all(parsed.tasks)
            self._keep_skipped(parsed.skipped)
            self._set_meta("jsonl_hash", digest)
        self._set_meta("jsonl_sig", self._file_signature())

    def _keep_skipped(self, skipped: list[jsonl.SkippedLine]) -> None:
        """Remember the lines the import skipped (written back by :meth:`_export`) and say so."""
        for line in skipped:
            terminal.warn(
                f"{line.reason} — task skipped; the line is kept in the file until it is fixed "
                "or removed"
            )
        self._set_meta("skipped_lines", jsonio.dumps([line.text for line in skipped]))

    def skipped_lines(self) -> list[str]:
        """The lines of tasks.jsonl that the last import skipped, as they are in the file."""
        kept = self._meta("skipped_lines")
        return [str(line) for line in jsonio.loads(kept)] if kept is not None else []

    def _export(self) -> None:
        rows = self.conn.execute("SELECT doc FROM tasks ORDER BY id")
        # Skipped lines go back verbatim after the tasks: nothing a teammate wrote is lost.
        data = jsonl.render([*(row[0] for row in rows), *self.skipped_lines()])
        digest = jsonl.content_hash(data)
        if digest == self._meta("jsonl_hash") and self.jsonl_path.exists():
            return
        jsonl.write_atomic(self.jsonl_path, data, root=self.project.root)
        self._set_meta("jsonl_hash", digest)
        self._set_meta("jsonl_sig", self._file_signature())

    def _gates_by_task(self) -> dict[str, str]:
        """Each task's gates (JSON) as the database has them, to see what an import changes."""
        rows = self.conn.execute("SELECT id, json_extract(doc, '$.gates') FROM tasks")
        return {task_id: gates or "[]" for task_id, gates in rows}

    # --- rows ---------------------------------------------------------------------------------

    def _replace_all(self, tasks: list[Task]) -> None:
        """Make the tables hold exactly ``tasks`` (bulk: one statement per table)."""
        self.conn.execute("DELETE FROM deps")
        self.conn.execute("DELETE FROM tasks")
        self.conn.executemany(_INSERT_TASK, [_row(t) for t in tasks])
        self.conn.executemany(
            "INSERT OR IGNORE INTO deps(task_id, depends_on) VALUES (?, ?)",
            [(t.id, dep) for t in tasks for dep in set(t.depends_on)],
        )

    def put(self, task: Task) -> None:
        """Insert or replace ``task`` and its dependency rows (inside :meth:`write`)."""
        if not self._in_write:
            raise RuntimeError("TaskStore.put outside write()")
        # The schema that reads tasks.jsonl back, checked before anything is stored.
        record.check_new(task.to_dict())
        try:
            row = _row(task)
        except jsonio.JSONError as exc:  # NaN in a history entry, undecodable bytes in a note
            raise UsageError(f"task {task.id}: {exc}") from None
        if len(row[-1].encode()) > record.MAX_RECORD_BYTES:
            raise UsageError(
                f"task {task.id} would take more than {record.MAX_RECORD_BYTES:,} bytes",
                hint="remove notes or shorten the description",
            )
        self.conn.execute(_INSERT_TASK, row)
        self.conn.execute("DELETE FROM deps WHERE task_id = ?", (task.id,))
        self.conn.executemany(
            "INSERT OR IGNORE INTO deps(task_id, depends_on) VALUES (?, ?)",
            [(task.id, dep) for dep in sorted(set(task.depends_on))],
        )

    def claim(self, task_id: str, agent: str) -> bool:
        """The atomic claim: one conditional UPDATE; True if this caller won."""
        cur = self.conn.execute(
            "UPDATE tasks SET status = 'in_progress', assignee = ? WHERE id = ? "
            "AND status IN ('open', 'rejected') AND (assignee IS NULL OR assignee = ?)",
            (agent, task_id, agent),
        )
        return cur.rowcount == 1

    def get(self, task_id: str) -> Task | None:
        row = self.conn.execute("SELECT doc FROM tasks WHERE id = ?", (task_id,)).fetchone()
        return None if row is None else _task(row[0])

    def ids_with_prefix(self, prefix: str, limit: int = 11) -> list[str]:
        return database.ids_with_prefix(self.conn, prefix, limit)

    def count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM tasks").fetchone()[0])

    def titles(self, ids: list[str]) -> dict[str, tuple[str, str]]:
        return database.titles(self.conn, ids)

    def dependents(self, task_id: str) -> list[str]:
        rows = self.conn.execute("SELECT task_id FROM deps WHERE depends_on = ?", (task_id,))
        return sorted(r[0] for r in rows)

    # --- queries ------------------------------------------------------------------------------

    def list_tasks(self, **filters: str | None) -> list[Task]:
        return [_task(doc) for doc in self.list_docs(0, **filters)]

    def list_docs(self, limit: int = 0, **filters: str | None) -> list[str]:
        """Canonical JSON of the matching tasks, by priority then age (no parsing: fast); the
        first ``limit`` (0: all)."""
        where: list[str] = []
        args: list[Any] = []
        for column in ("status", "assignee", "workspace"):
            if filters.get(column):
                where.append(f"{column} = ?")
                args.append(filters[column])
        if filters.get("label"):
            where.append("EXISTS (SELECT 1 FROM json_each(doc, '$.labels') WHERE value = ?)")
            args.append(filters["label"])
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        sql = f"SELECT doc FROM tasks {clause} ORDER BY priority, created_at, id"
        if limit > 0:
            sql += " LIMIT ?"
            args.append(limit)
        return [r[0] for r in self.conn.execute(sql, args)]

    def ready(self, me: str, limit: int) -> list[Task]:
        return [_task(doc) for doc in self.ready_docs(me, limit)]

    def ready_docs(self, me: str, limit: int) -> list[str]:
        """Open, unblocked, unassigned or assigned to ``me``; by priority then age (indexed)."""
        sql = READY_SQL
        args: list[Any] = [me]
        if limit > 0:
            sql += " LIMIT ?"
            args.append(limit)
        return [r[0] for r in self.conn.execute(sql, args)]

    def blocked(self) -> list[tuple[Task, list[str]]]:
        sql = (
            "SELECT t.doc, (SELECT group_concat(d.depends_on) FROM deps d JOIN tasks u "
            f"ON u.id = d.depends_on WHERE d.task_id = t.id AND u.status NOT IN {FINISHED!r}) "
            f"FROM tasks t WHERE t.status NOT IN {FINISHED!r} AND EXISTS ({_UNFINISHED_DEP}) "
            "ORDER BY t.priority, t.created_at, t.id"
        )
        return [(_task(r[0]), sorted(r[1].split(","))) for r in self.conn.execute(sql)]

    # --- bounded queries for `nexus prime` (each one indexed or LIMITed) -----------------------

    def recent_docs(self, statuses: tuple[str, ...], assignee: str, limit: int) -> list[str]:
        """``assignee``'s tasks in ``statuses``, most recently updated first."""
        marks = ",".join("?" * len(statuses))
        sql = (
            f"SELECT doc FROM tasks WHERE status IN ({marks}) AND assignee = ? "
            "ORDER BY updated_at DESC, id LIMIT ?"
        )
        return [r[0] for r in self.conn.execute(sql, (*statuses, assignee, limit))]

    def blocked_page(self, limit: int) -> tuple[bool, list[tuple[str, list[str]]]]:
        """The first ``limit`` unfinished tasks waiting on unfinished ones (by priority, age),
        and whether there are more. One early-stopping walk of ``ix_tasks_ready`` per status."""
        found: list[tuple[int, str, str]] = []
        for status in (s for s in STATUSES if s not in FINISHED):
            found += self.conn.execute(
                "SELECT t.priority, t.created_at, t.id FROM tasks t INDEXED BY ix_tasks_ready "
                f"WHERE t.status = ? AND EXISTS ({_UNFINISHED_DEP}) "
                "ORDER BY t.priority, t.created_at, t.id LIMIT ?",
                (status, limit + 1),
            ).fetchall()
        found.sort()
        waits = (
            "SELECT d.depends_on FROM deps d JOIN tasks u ON u.id = d.depends_on "
            f"WHERE d.task_id = ? AND u.status NOT IN {FINISHED!r} ORDER BY d.depends_on"
        )
        page = []
        for _, _, task_id in found[:limit]:
            doc = self.conn.execute("SELECT doc FROM tasks WHERE id = ?", (task_id,)).fetchone()
            page.append((doc[0], [r[0] for r in self.conn.execute(waits, (task_id,))]))
        return len(found) > limit, page

    def dependency_path(self, start: str, target: str) -> list[str] | None:
        """A path start -> ... -> target following depends_on edges, or None."""
        sql = (
            "WITH RECURSIVE walk(node, path) AS (SELECT ?, ? UNION "
            "SELECT d.depends_on, walk.path || ',' || d.depends_on FROM deps d "
            "JOIN walk ON d.task_id = walk.node WHERE instr(walk.path, d.depends_on) = 0) "
            "SELECT path FROM walk WHERE node = ? LIMIT 1"
        )
        row = self.conn.execute(sql, (start, start, target)).fetchone()
        return None if row is None else str(row[0]).split(",")

    def close(self) -> None:
        self.conn.close()


_INSERT_TASK = (
    "INSERT OR REPLACE INTO tasks(id, title, status, priority, assignee, workspace,"
    " created_at, updated_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _row(task: Task) -> tuple[Any, ...]:
    return (
        task.id,
        task.title,
        task.status,
        task.priority,
        task.assignee,
        task.workspace,
        task.created_at,
        task.updated_at,
        task.to_line(),
    )


def _task(doc: str) -> Task:
    return parse_doc(doc)


def open_store(project: Project, *, sync: bool = True) -> TaskStore:
    """Open (creating and migrating as needed) the task database and import tasks.jsonl."""
    store = TaskStore(project, database.connect(project))
    if sync:
        store.sync()
    return store
