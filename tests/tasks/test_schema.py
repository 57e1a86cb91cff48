"""tasks.db's migrations: a database made by the old sqlite-utils path opens and keeps its rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from nexus_cli import migrations
from nexus_cli.errors import StateError
from nexus_cli.project import find_project
from nexus_cli.tasks import schema
from nexus_cli.tasks.database import db_path
from nexus_cli.tasks.store import open_store
from tests.tasks.conftest import new_task, show

# The first migration exactly as the sqlite-utils code (Migrations("nexus.tasks")) ran it.
OLD_M001 = (
    "CREATE TABLE tasks (id TEXT PRIMARY KEY, title TEXT NOT NULL, status TEXT NOT NULL,"
    " priority INTEGER NOT NULL, assignee TEXT, workspace TEXT, created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL, doc TEXT NOT NULL)",
    "CREATE INDEX ix_tasks_ready ON tasks(status, priority, created_at, id)",
    "CREATE INDEX ix_tasks_assignee ON tasks(assignee)",
    "CREATE TABLE deps (task_id TEXT NOT NULL, depends_on TEXT NOT NULL,"
    " PRIMARY KEY (task_id, depends_on)) WITHOUT ROWID",
    "CREATE INDEX ix_deps_depends_on ON deps(depends_on, task_id)",
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)",
)


def _old_database(path: Path, *, user_version: int) -> None:
    """What the previous tasks/schema.py made: sqlite-utils migrations, then user_version."""
    from sqlite_utils import Database
    from sqlite_utils.migrations import Migrations

    old = Migrations("nexus.tasks")

    @old()
    def m001_tasks(db: Any) -> None:
        for statement in OLD_M001:
            db.execute(statement)

    db = Database(path)
    old.apply(db)
    db.execute(f"PRAGMA user_version = {user_version}")  # 0: it crashed before this line
    db.close()


def test_migrations_are_numbered_by_position() -> None:
    migrations.check_names(schema.MIGRATIONS)
    assert schema.LATEST == len(schema.MIGRATIONS) == 3


@pytest.mark.parametrize("user_version", [1, 0])
def test_a_database_made_by_the_old_code_opens_and_keeps_its_tasks(
    tasks_project: Path, user_version: int
) -> None:
    task_id = new_task("Made before the runner")
    path = db_path(find_project())
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    _old_database(path, user_version=user_version)
    assert show(task_id)["title"] == "Made before the runner"  # re-imported from tasks.jsonl
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.LATEST
    assert conn.execute("SELECT count(*) FROM tasks").fetchone()[0] == 1
    conn.close()


def test_opening_an_up_to_date_database_migrates_nothing(tasks_project: Path) -> None:
    new_task("A")
    store = open_store(find_project())
    try:
        assert migrations.migrate(store.conn, schema.MIGRATIONS, what="t") == 0
    finally:
        store.close()


def test_a_database_from_a_newer_nexus_is_a_clear_error(tasks_project: Path) -> None:
    new_task("A")
    conn = sqlite3.connect(db_path(find_project()))
    conn.execute(f"PRAGMA user_version = {schema.LATEST + 1}")
    conn.close()
    with pytest.raises(StateError, match="this Nexus knows versions up to"):
        open_store(find_project())


def test_migration_2_indexes_the_tasks_a_version_1_database_holds(tasks_project: Path) -> None:
    """A database at version 1 whose tasks.jsonl is unchanged is not re-imported: migration 2
    itself fills the parent and deferral columns and the search index from the stored rows."""
    epic = new_task("Epic about invoices")
    child = new_task("Child", "--parent", epic)
    path = db_path(find_project())
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE tasks_fts")
    conn.execute("DROP INDEX ix_tasks_parent")
    conn.execute("DROP INDEX ix_tasks_order")
    conn.execute("DROP INDEX ix_tasks_waiting")
    conn.execute("ALTER TABLE tasks DROP COLUMN parent")
    conn.execute("ALTER TABLE tasks DROP COLUMN deferred_until")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    store = open_store(find_project(), sync=False)
    try:
        assert migrations.version(store.conn) == schema.LATEST
        assert store.children(epic) == [(child, "Child", "open")]
        assert len(store.search_docs('"invoices"*', 0)) == 1
    finally:
        store.close()


def test_migration_3_indexes_the_waiting_tasks_and_their_query_uses_it(
    tasks_project: Path,
) -> None:
    """Only unfinished tasks with a waiting gate are in the partial index, and the store's
    query for them walks it (a query must repeat the index's condition word for word)."""
    waiting = new_task("Waits", "--gate", "true", "--wait", "approval:bob")
    new_task("Plain", "--gate", "true")
    new_task("Mentions it", "--description", 'a "wait": in the text')
    path = db_path(find_project())
    conn = sqlite3.connect(path)
    conn.execute("DROP INDEX ix_tasks_waiting")
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    store = open_store(find_project(), sync=False)
    try:
        assert migrations.version(store.conn) == 3
        indexed = store.conn.execute(
            f"SELECT id FROM tasks INDEXED BY ix_tasks_waiting WHERE {schema.MAY_WAIT}"
        ).fetchall()
        assert indexed == [(waiting,)]  # a description's quotes are escaped in the document
        assert [t.id for t in store.with_waiting_gates()] == [waiting]
        plan = store.conn.execute(
            "EXPLAIN QUERY PLAN SELECT doc FROM tasks WHERE "
            f"{schema.MAY_WAIT} ORDER BY priority, created_at, id"
        ).fetchall()
        assert any("ix_tasks_waiting" in str(row[-1]) for row in plan), plan
    finally:
        store.close()
