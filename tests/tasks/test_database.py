"""Opening tasks.db, and the ID lookups of shell completion (no task model, no tasks.jsonl)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nexus_cli.errors import StateError
from nexus_cli.project import find_project
from nexus_cli.tasks import schema
from nexus_cli.tasks.database import complete_ids, connect, db_path, ids_with_prefix, titles
from tests.conftest import nexus_exe
from tests.tasks.conftest import new_task, show


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


def _close_in_another_process(path: Path) -> None:
    """Open the database in a second process, read it, close it (SQLite's last closer deletes the
    WAL when it can lock the whole file)."""
    script = (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
        "c.execute('SELECT count(*) FROM tasks').fetchone(); c.close()"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=True, timeout=60)


def test_a_second_connection_keeps_the_first_ones_locks(tasks_project: Path) -> None:
    # Regression: connect() opened and closed tasks.db itself, and closing any descriptor of a
    # file drops every POSIX lock the process holds on it; another process closing its last
    # connection then deleted the WAL under the first connection ("disk I/O error").
    new_task("One")
    project = find_project()
    first = connect(project)
    try:
        first.execute("SELECT count(*) FROM tasks").fetchone()
        connect(project).close()
        _close_in_another_process(db_path(project))
        wal = db_path(project).with_name("tasks.db-wal")
        assert wal.exists(), "another process deleted the WAL of a live connection"
        first.execute("BEGIN IMMEDIATE")
        first.execute("UPDATE meta SET value = value")
        first.execute("COMMIT")
    finally:
        first.close()


def test_loops_started_at_once_on_a_new_database_all_finish(tasks_project: Path) -> None:
    # Real processes, started together, against a database none of them has seen; repeated,
    # because one round can miss the race.
    for _ in range(3):
        created = [new_task(f"Task {n}", "--gate", "true") for n in range(4)]
        for leftover in db_path(find_project()).parent.glob("tasks.db*"):
            leftover.unlink()
        procs = [
            subprocess.Popen(
                [*nexus_exe(), "loop", "--agent", "true"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        for proc in procs:
            _out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err
            assert "disk I/O" not in err
        assert all(show(task_id)["status"] == "done" for task_id in created)
