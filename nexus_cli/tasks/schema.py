"""Schema of ``.nexus/tasks.db``: numbered migrations run by :mod:`nexus_cli.migrations`.

Migration N is ``MIGRATIONS[N - 1]`` and ``PRAGMA user_version`` counts those applied. Released
migrations are NEVER renamed, reordered or changed: add a new function at the end instead.

Databases made before this runner were migrated by sqlite-utils, which also set
``user_version = 1`` after ``m001_tasks``; they open as up to date (their ``_sqlite_migrations``
table is left in place, unused).
"""

from __future__ import annotations

import sqlite3

from nexus_cli.tasks.statuses import FINISHED


def m001_tasks(conn: sqlite3.Connection) -> None:
    # The first schema. IF NOT EXISTS: a database whose sqlite-utils migration ran but whose
    # user_version was not yet set (the old code set it afterwards) already has these tables.
    conn.execute(
        "CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, title TEXT NOT NULL,"
        " status TEXT NOT NULL, priority INTEGER NOT NULL, assignee TEXT, workspace TEXT,"
        " created_at TEXT NOT NULL, updated_at TEXT NOT NULL, doc TEXT NOT NULL)"
    )
    conn.execute(
        "CREATE INDEX IF NOT EXISTS ix_tasks_ready ON tasks(status, priority, created_at, id)"
    )
    conn.execute("CREATE INDEX IF NOT EXISTS ix_tasks_assignee ON tasks(assignee)")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS deps (task_id TEXT NOT NULL, depends_on TEXT NOT NULL,"
        " PRIMARY KEY (task_id, depends_on)) WITHOUT ROWID"
    )
    conn.execute("CREATE INDEX IF NOT EXISTS ix_deps_depends_on ON deps(depends_on, task_id)")
    conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")


# The text `task search` looks in besides the title: the description and every note's text.
SEARCH_BODY = (
    "coalesce(json_extract(doc, '$.description'), '') || ' ' || coalesce((SELECT "
    "group_concat(json_extract(n.value, '$.text'), ' ') FROM json_each(doc, '$.notes') n), '')"
)


def m002_parents_deferral_search(conn: sqlite3.Connection) -> None:
    """Epics (``parent``), deferral (``deferred_until``) and full-text search (FTS5).

    ``tasks_fts`` shares its rowid with ``tasks``; :class:`nexus_cli.tasks.store.TaskStore`
    keeps it in step in ``put`` and ``_replace_all``.
    """
    conn.execute("ALTER TABLE tasks ADD COLUMN parent TEXT")
    conn.execute("ALTER TABLE tasks ADD COLUMN deferred_until TEXT")
    conn.execute(
        "UPDATE tasks SET parent = json_extract(doc, '$.parent'),"
        " deferred_until = json_extract(doc, '$.deferred_until')"
    )
    conn.execute("CREATE INDEX ix_tasks_parent ON tasks(parent, status)")
    # `task list --limit N` without a status walks this instead of sorting every task.
    conn.execute("CREATE INDEX ix_tasks_order ON tasks(priority, created_at, id)")
    conn.execute(
        "CREATE VIRTUAL TABLE tasks_fts USING fts5(title, body,"
        " tokenize = 'unicode61 remove_diacritics 2')"
    )
    conn.execute(
        f"INSERT INTO tasks_fts(rowid, title, body) SELECT rowid, title, {SEARCH_BODY} FROM tasks"
    )


# The unfinished tasks that may have a waiting gate (a gate's ``"wait":`` key is written only
# when set); the store filters the false matches (the text in a description). A query must
# repeat this condition word for word for SQLite to use the partial index below.
MAY_WAIT = f"instr(doc, '\"wait\":') > 0 AND status NOT IN {FINISHED!r}"


def m003_waiting_gates(conn: sqlite3.Connection) -> None:
    """An index of the unfinished tasks with a waiting gate, in ``task list`` order: the session
    briefing lists those that wait without reading every task."""
    conn.execute(
        f"CREATE INDEX ix_tasks_waiting ON tasks(priority, created_at, id) WHERE {MAY_WAIT}"
    )


MIGRATIONS = (m001_tasks, m002_parents_deferral_search, m003_waiting_gates)
LATEST = len(MIGRATIONS)
