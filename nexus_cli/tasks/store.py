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

from nexus_cli import jsonio, safe_path, sqlite_open, terminal
from nexus_cli.errors import NotFoundError, StateError, UsageError
from nexus_cli.project import TASKS_FILE, Project
from nexus_cli.tasks import database, ids, jsonl, provenance, record
from nexus_cli.tasks.model import Task, now_iso, parse_doc
from nexus_cli.tasks.schema import MAY_WAIT, SEARCH_BODY
from nexus_cli.tasks.statuses import FINISHED, STATUSES

# Opening the database (and completing a task ID, which needs neither tasks.jsonl nor the task
# model) is in nexus_cli.tasks.database.
_UNFINISHED_DEP = (
    "SELECT 1 FROM deps d JOIN tasks u ON u.id = d.depends_on "
    f"WHERE d.task_id = t.id AND u.status NOT IN {FINISHED!r}"
)

_UNFINISHED_CHILD = f"SELECT 1 FROM tasks c WHERE c.parent = t.id AND c.status NOT IN {FINISHED!r}"

# One indexed walk of the open tasks in (priority, age) order that stops at LIMIT; each row's
# unfinished dependencies are probed through the deps primary key and the tasks primary key, its
# unfinished children through ix_tasks_parent. A deferred task waits for its moment.
READY_SQL = (
    "SELECT doc FROM tasks t INDEXED BY ix_tasks_ready WHERE t.status = 'open' "
    "AND (t.assignee IS NULL OR t.assignee = ?) "
    "AND (t.deferred_until IS NULL OR t.deferred_until <= ?) "
    f"AND NOT EXISTS ({_UNFINISHED_DEP}) AND NOT EXISTS ({_UNFINISHED_CHILD}) "
    "ORDER BY t.priority, t.created_at, t.id"
)
RANK_AT_MOST = 2_000  # `task search` ranks at most this many matches (see search_docs)
_INDEX_SEARCH = (
    f"INSERT INTO tasks_fts(rowid, title, body) SELECT rowid, title, {SEARCH_BODY} FROM tasks"
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
        with sqlite_open.transaction(self.conn, begin_error=_busy):
            self._in_write = True
            try:
                self._import_if_changed()
                yield self
                self._export()
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
            provenance.record_imported_changes(self._known_tasks(), parsed.tasks)
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

    def _known_tasks(self) -> dict[str, tuple[str, str]]:
        """Each task's gates (JSON) and status as the database has them, to see what an import
        changes."""
        rows = self.conn.execute("SELECT id, json_extract(doc, '$.gates'), status FROM tasks")
        return {task_id: (gates or "[]", str(status)) for task_id, gates, status in rows}

    # --- rows ---------------------------------------------------------------------------------

    def _replace_all(self, tasks: list[Task]) -> None:
        """Make the tables hold exactly ``tasks`` (bulk: one statement per table)."""
        self.conn.execute("DELETE FROM deps")
        self.conn.execute("DELETE FROM tasks")
        self.conn.execute("DELETE FROM tasks_fts")
        self.conn.executemany(_INSERT_TASK, [_row(t) for t in tasks])
        self.conn.executemany(
            "INSERT OR IGNORE INTO deps(task_id, depends_on) VALUES (?, ?)",
            [(t.id, dep) for t in tasks for dep in set(t.depends_on)],
        )
        self.conn.execute(_INDEX_SEARCH)

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
        if len(row[_DOC].encode()) > record.MAX_RECORD_BYTES:
            raise UsageError(
                f"task {task.id} would take more than {record.MAX_RECORD_BYTES:,} bytes",
                hint="remove notes or shorten the description",
            )
        old = self.conn.execute("SELECT rowid FROM tasks WHERE id = ?", (task.id,)).fetchone()
        if old is not None:
            self.conn.execute("DELETE FROM tasks_fts WHERE rowid = ?", old)
        self.conn.execute(_INSERT_TASK, row)
        self.conn.execute(f"{_INDEX_SEARCH} WHERE id = ?", (task.id,))
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

    def resolve(self, text: str) -> str:
        """The one task ID that ``text`` (a full ID or any unique prefix) names."""
        prefix = ids.normalise_prefix(text)
        if self.get(prefix) is not None:
            return prefix
        matches = self.ids_with_prefix(prefix)
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise NotFoundError(f"no task matches {text!r}", hint="see `nexus task list`")
        shown = ", ".join(matches[:10]) + (", ..." if len(matches) > 10 else "")
        raise UsageError(f"task prefix {text!r} is ambiguous: {shown}", hint="type more characters")

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
        for column in ("status", "assignee", "workspace", "parent"):
            if filters.get(column):
                where.append(f"{column} = ?")
                args.append(filters[column])
        if filters.get("since"):
            where.append("updated_at >= ?")
            args.append(filters["since"])
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
        args: list[Any] = [me, now_iso()]
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

    def with_waiting_gates(self) -> Iterator[Task]:
        """Unfinished tasks that have a waiting gate (nexus_cli.tasks.waits), by priority, age,
        read one at a time from ``ix_tasks_waiting`` (a caller may stop early)."""
        sql = (
            f"SELECT doc FROM tasks INDEXED BY ix_tasks_waiting WHERE {MAY_WAIT} "
            "ORDER BY priority, created_at, id"
        )
        found = (_task(r[0]) for r in self.conn.execute(sql))
        return (t for t in found if any(g.wait is not None for g in t.gates))

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
        page = []
        for _, _, task_id in found[:limit]:
            doc = self.conn.execute("SELECT doc FROM tasks WHERE id = ?", (task_id,)).fetchone()
            page.append((doc[0], self.unfinished_dependencies(task_id)))
        return len(found) > limit, page

    def unfinished_dependencies(self, task_id: str) -> list[str]:
        """The ids of ``task_id``'s dependencies that are not finished, sorted."""
        sql = (
            "SELECT d.depends_on FROM deps d JOIN tasks u ON u.id = d.depends_on "
            f"WHERE d.task_id = ? AND u.status NOT IN {FINISHED!r} ORDER BY d.depends_on"
        )
        return [r[0] for r in self.conn.execute(sql, (task_id,))]

    def search_docs(self, match: str, limit: int, **filters: str | None) -> list[str]:
        """Tasks whose title, description or notes match the FTS5 query ``match`` (built by
        :func:`nexus_cli.tasks.search.fts_query`: phrases only), best match first.

        The best ``limit`` are chosen by rowid and score alone; only their documents are read.
        Scoring costs about 5 µs a match, so a query matching more than :data:`RANK_AT_MOST`
        tasks (a word in a fifth of 10,000 titles) is not ranked: its matches come in ``task
        list`` order (priority, age), found by one walk of ``ix_tasks_order`` that stops at
        the limit (the matches being dense, after a few rows per match)."""
        where = ""
        args: list[Any] = [match]
        for column in ("status", "assignee"):
            if filters.get(column):
                where += f" AND t.{column} = ?"
                args.append(filters[column])
        tail = " LIMIT ?" if limit > 0 else ""
        if limit > 0:
            args.append(limit)
        count = "SELECT count(*) FROM (SELECT 1 FROM tasks_fts WHERE tasks_fts MATCH ? LIMIT ?)"
        if self.conn.execute(count, (match, RANK_AT_MOST + 1)).fetchone()[0] > RANK_AT_MOST:
            # Unranked, in list order: one walk of ix_tasks_order against the set of matching
            # rowids, stopping at the limit. (Probing the index row by row instead would run the
            # FTS5 query again for every row: a prefix query reads its whole doclist each time.)
            found = "t.rowid IN (SELECT rowid FROM tasks_fts WHERE tasks_fts MATCH ?)"
            sql = (
                f"SELECT t.doc FROM tasks t INDEXED BY ix_tasks_order WHERE {found}{where} "
                f"ORDER BY t.priority, t.created_at, t.id{tail}"
            )
            return [r[0] for r in self.conn.execute(sql, args)]
        join = f"JOIN tasks t ON t.rowid = tasks_fts.rowid{where}" if where else ""
        best = (
            "SELECT tasks_fts.rowid AS rid, bm25(tasks_fts, 3.0, 1.0) AS score FROM tasks_fts "
            f"{join} WHERE tasks_fts MATCH ? ORDER BY score, rid{tail}"
        )
        sql = f"SELECT t.doc FROM ({best}) m JOIN tasks t ON t.rowid = m.rid ORDER BY m.score, t.id"
        return [r[0] for r in self.conn.execute(sql, args)]

    def children(self, task_id: str, *, unfinished: bool = False) -> list[tuple[str, str, str]]:
        """(id, title, status) of the tasks whose parent is ``task_id``, by id."""
        sql = "SELECT id, title, status FROM tasks WHERE parent = ?"
        if unfinished:
            sql += f" AND status NOT IN {FINISHED!r}"
        return [(r[0], r[1], r[2]) for r in self.conn.execute(sql + " ORDER BY id", (task_id,))]

    def ancestors(self, task_id: str) -> list[str]:
        """``task_id``'s parent, its parent's parent, ... (stops at a loop or a missing task)."""
        sql = (
            "WITH RECURSIVE up(node, depth) AS (SELECT parent, 1 FROM tasks WHERE id = ? UNION "
            "SELECT t.parent, up.depth + 1 FROM tasks t JOIN up ON t.id = up.node "
            "WHERE up.depth < 10000) SELECT node FROM up WHERE node IS NOT NULL ORDER BY depth"
        )
        seen: list[str] = []
        for (node,) in self.conn.execute(sql, (task_id,)):
            if node in seen:
                break
            seen.append(node)
        return seen

    def titles_only(self) -> list[tuple[str, str, str]]:
        """(id, title, status) of every task (for `task duplicates`)."""
        return [
            (r[0], r[1], r[2]) for r in self.conn.execute("SELECT id, title, status FROM tasks")
        ]

    def close(self) -> None:
        self.conn.close()


_INSERT_TASK = (
    "INSERT OR REPLACE INTO tasks(id, title, status, priority, assignee, workspace,"
    " created_at, updated_at, doc, parent, deferred_until)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


_DOC = 8  # the place of the task's line (the ``doc`` column) in :func:`_row`


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
        task.parent,
        task.deferred_until,
    )


def _task(doc: str) -> Task:
    return parse_doc(doc)


def open_store(project: Project, *, sync: bool = True) -> TaskStore:
    """Open (creating and migrating as needed) the task database and import tasks.jsonl."""
    store = TaskStore(project, database.connect(project))
    if sync:
        store.sync()
    return store


def _busy(exc: sqlite3.OperationalError) -> StateError:
    return StateError(f"task database is busy or locked: {exc}")
