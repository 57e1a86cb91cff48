"""Opening tasks.db, and the ID lookups of shell completion (no task model, no tasks.jsonl)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexus_cli.errors import StateError
from nexus_cli.project import find_project
from nexus_cli.tasks import schema
from nexus_cli.tasks.database import complete_ids, connect, db_path, ids_with_prefix, titles
from tests.tasks.conftest import new_task


def test_connect_makes_a_migrated_database_in_wal_mode(tasks_project: Path) -> None:
    project = find_project()
    assert not db_path(project).exists()
    conn = connect(project)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.LATEST
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.isolation_level is None  # autocommit: the store BEGINs itself
    finally:
        conn.close()


def test_an_unreadable_database_names_the_file_and_the_way_out(tasks_project: Path) -> None:
    project = find_project()
    db_path(project).write_bytes(b"not a database" * 100)
    with pytest.raises(StateError, match="is unreadable") as caught:
        connect(project)
    assert str(db_path(project)) in caught.value.message
    assert "rebuilt from .nexus/tasks.jsonl" in (caught.value.hint or "")


def test_ids_by_prefix_with_their_titles(tasks_project: Path) -> None:
    first, second = new_task("First"), new_task("Second")
    conn = connect(find_project())
    try:
        assert ids_with_prefix(conn, "nx-", limit=200) == sorted([first, second])
        assert ids_with_prefix(conn, first) == [first]
        assert titles(conn, [first, "nx-zzzz"]) == {first: ("First", "open")}
    finally:
        conn.close()


def test_completion_accepts_ids_with_or_without_the_prefix(tasks_project: Path) -> None:
    task_id = new_task("Complete me")
    assert complete_ids("") == [(task_id, "Complete me")]
    assert complete_ids(task_id[:5].upper()) == [(task_id, "Complete me")]
    assert complete_ids(task_id[3:5]) == [(task_id[3:], "Complete me")]
    assert complete_ids("zzzz") == []
