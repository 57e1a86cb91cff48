"""The task database: migrations, export then import through the store changes nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nexus_cli.errors import StateError
from nexus_cli.project import find_project
from nexus_cli.tasks import database, schema
from nexus_cli.tasks.database import db_path
from nexus_cli.tasks.store import READY_SQL, open_store
from tests.tasks.conftest import new_task, ok
from tests.tasks.test_jsonl import _task


def test_migrations_applied_once_and_wal(tasks_project: Path) -> None:
    new_task("A")
    conn = sqlite3.connect(db_path(find_project()))
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.LATEST
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    search = {f"tasks_fts{suffix}" for suffix in ("", "_data", "_idx", "_content", "_docsize")}
    # no sqlite-utils bookkeeping table; the FTS5 index of `task search` and its shadow tables
    assert tables == {"tasks", "deps", "meta", *search, "tasks_fts_config"}
    plan = str(conn.execute(f"EXPLAIN QUERY PLAN {READY_SQL} LIMIT 50", ["me", "now"]).fetchall())
    assert "INDEX ix_tasks_ready (status=?)" in plan
    assert "TEMP B-TREE" not in plan  # no sort of all open tasks
    assert "SCAN d" not in plan and "SCAN u" not in plan  # dependency probes use keys
    assert "SCAN c" not in plan  # subtasks are probed through ix_tasks_parent
    listing = str(
        conn.execute(
            "EXPLAIN QUERY PLAN SELECT doc FROM tasks ORDER BY priority, created_at, id LIMIT 50"
        ).fetchall()
    )
    assert "ix_tasks_order" in listing and "TEMP B-TREE" not in listing  # `list -n 50`
    conn.close()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(tasks=st.lists(_task, max_size=5, unique_by=lambda t: t.id))
def test_export_import_through_the_database_changes_nothing(
    tasks_project: Path, tasks: list
) -> None:  # type: ignore[type-arg]
    from nexus_cli.tasks import jsonl

    path = tasks_project / ".nexus" / "tasks.jsonl"
    data = jsonl.render_tasks(tasks)
    path.write_bytes(data)
    store = open_store(find_project())
    try:
        assert sorted(t.id for t in store.list_tasks()) == sorted(t.id for t in tasks)
        with store.write():
            pass  # forces an export
    finally:
        store.close()
    assert path.read_bytes() == data


def test_list_reads_a_file_edited_in_the_same_second(tasks_project: Path) -> None:
    task_id = new_task("Short")
    path = tasks_project / ".nexus" / "tasks.jsonl"
    path.write_text(path.read_text().replace('"Short"', '"Shorx"'))
    assert ok("task", "show", task_id, "--json").json()["title"] == "Shorx"


def test_a_change_while_another_process_writes_is_one_clear_error(
    tasks_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer holds the database past the busy timeout: the change fails with one line
    that says so, and the store is left with no transaction open (its next change works)."""
    new_task("A")
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 50)
    store = open_store(find_project())
    other = sqlite3.connect(db_path(find_project()))
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(StateError, match="task database is busy or locked"), store.write():
        raise AssertionError("changed without the lock")
    assert not store.conn.in_transaction
    other.execute("ROLLBACK")
    with store.write():
        pass
    assert [t.title for t in store.list_tasks()] == ["A"]
