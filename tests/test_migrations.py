"""The migration runner: numbered by position, counted in user_version, one exclusive transaction."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from nexus_cli import locks, migrations, sqlite_open
from nexus_cli.errors import ConflictError, StateError


def m001_things(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT)")


def m002_things_colour(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE things ADD COLUMN colour TEXT")


def _open(path: Path) -> sqlite3.Connection:
    return sqlite_open.open_private(str(path), timeout=10.0)


def _columns(conn: sqlite3.Connection) -> list[str]:
    return [r[1] for r in conn.execute("PRAGMA table_info(things)")]


def test_migrates_in_order_then_does_nothing(tmp_path: Path) -> None:
    conn = _open(tmp_path / "x.db")
    assert migrations.migrate(conn, [m001_things], what="x") == 1
    conn.execute("INSERT INTO things (name) VALUES ('kept')")
    assert migrations.migrate(conn, [m001_things, m002_things_colour], what="x") == 1
    assert migrations.migrate(conn, [m001_things, m002_things_colour], what="x") == 0
    assert migrations.version(conn) == 2
    assert _columns(conn) == ["id", "name", "colour"]
    assert conn.execute("SELECT name FROM things").fetchall() == [("kept",)]


def test_a_failing_migration_changes_nothing(tmp_path: Path) -> None:
    def m002_broken(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE things ADD COLUMN colour TEXT")
        conn.execute("THIS IS NOT SQL")

    conn = _open(tmp_path / "x.db")
    with pytest.raises(sqlite3.OperationalError):
        migrations.migrate(conn, [m001_things, m002_broken], what="x")
    assert migrations.version(conn) == 0
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'things'").fetchone() is None
    assert not conn.in_transaction


def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    conn = _open(tmp_path / "x.db")
    migrations.migrate(conn, [m001_things, m002_things_colour], what="x")
    with pytest.raises(StateError, match="schema version 2; this Nexus knows versions up to 1"):
        migrations.migrate(conn, [m001_things], what="x")


def test_upto_runs_the_migrations_up_to_that_number_only(tmp_path: Path) -> None:
    conn = _open(tmp_path / "x.db")
    both = [m001_things, m002_things_colour]
    assert migrations.migrate(conn, both, what="x", upto=1) == 1
    assert (migrations.version(conn), _columns(conn)) == (1, ["id", "name"])
    assert migrations.migrate(conn, both, what="x", upto=1) == 0
    assert migrations.migrate(conn, both, what="x") == 1
    assert migrations.version(conn) == 2
    with pytest.raises(StateError, match="schema version 2; this Nexus knows versions up to 1"):
        migrations.migrate(conn, [m001_things], what="x", upto=1)


def test_misnumbered_migrations_are_a_bug(tmp_path: Path) -> None:
    conn = _open(tmp_path / "x.db")
    with pytest.raises(ValueError, match="migration 1 is named 'm002_things_colour'"):
        migrations.migrate(conn, [m002_things_colour, m001_things], what="x")


def test_needs_an_autocommit_connection(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "x.db")  # the default, implicit transactions
    with pytest.raises(ValueError, match="autocommit"):
        migrations.migrate(conn, [m001_things], what="x")


RACER = """
import sqlite3, sys, time
from nexus_cli import locks, migrations, sqlite_open

def m001_slow(conn):
    conn.execute("CREATE TABLE things (id INTEGER PRIMARY KEY)")
    time.sleep(0.3)  # hold the write lock while the other process tries to migrate too
    conn.execute("INSERT INTO things DEFAULT VALUES")

conn = sqlite_open.open_private(sys.argv[1], timeout=20.0)
print(migrations.migrate(conn, [m001_slow], what="x"))
"""


def test_two_first_uses_at_once_migrate_once(tmp_path: Path) -> None:
    path = str(tmp_path / "x.db")
    racers = [
        subprocess.Popen([sys.executable, "-c", RACER, path], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    ran = sorted(int(p.communicate(timeout=60)[0]) for p in racers)
    assert [p.returncode for p in racers] == [0, 0, 0]
    assert ran == [0, 0, 1]
    conn = _open(Path(path))
    assert conn.execute("SELECT count(*) FROM things").fetchone()[0] == 1
    assert migrations.version(conn) == 1


def test_before_runs_under_the_lock_only_when_something_is_pending(tmp_path: Path) -> None:
    conn = _open(tmp_path / "x.db")
    lock = tmp_path / "x.migrate.lock"
    seen: list[bool] = []

    def before(c: sqlite3.Connection) -> None:
        # The lock is held: a second, non-blocking attempt from this process is refused.
        try:
            with locks.locked(lock, blocking=False):
                seen.append(False)
        except ConflictError:
            seen.append(True)
        assert not c.in_transaction

    assert migrations.migrate(conn, [m001_things], what="x", lock=lock, before=before) == 1
    assert migrations.migrate(conn, [m001_things], what="x", lock=lock, before=before) == 0
    assert seen == [True]


def test_a_database_attached_read_only_is_read_and_never_written(tmp_path: Path) -> None:
    """sqlite_open.attach_read_only (a parallel roll-up build's view of the events)."""
    source = sqlite_open.open_private(str(tmp_path / "source.db"), timeout=1.0)
    source.execute("CREATE TABLE things (id INTEGER PRIMARY KEY)")
    source.execute("INSERT INTO things DEFAULT VALUES")
    source.close()
    odd = tmp_path / "a?b#c%d"  # characters SQLite's URIs give a meaning to
    odd.mkdir()
    conn = sqlite_open.open_private(str(odd / "side.db"), timeout=1.0, uri=True)
    sqlite_open.attach_read_only(conn, str(tmp_path / "source.db"), "src")
    assert conn.execute("SELECT count(*) FROM things").fetchone() == (1,)  # found in src
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        conn.execute("INSERT INTO src.things DEFAULT VALUES")
    conn.execute("CREATE TABLE mine (x)")  # the connection's own database is written
    assert (odd / "side.db").stat().st_mode & 0o777 == 0o600
    conn.close()
