"""The analytics store: migrations on top of the recorder's schema, corrupt databases."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from nexus_cli import locks, migrations, paths
from nexus_cli.errors import StateError
from nexus_cli.telemetry.db import schema, store
from tests.conftest import run_nexus
from tests.telemetry.conftest import db_rows


def test_migrations_apply_once_and_keep_the_recorder_working() -> None:
    assert run_nexus("version").exit_code == 0
    with store.opened() as db:
        assert migrations.version(db.conn) == store.LATEST == 10
        assert "events_window" in {r[1] for r in db.execute("PRAGMA index_list(events)")}
    migrations.check_names(store.MIGRATIONS)
    with store.opened() as db:  # idempotent
        assert migrations.migrate(db.conn, store.MIGRATIONS, what="t") == 0
    assert run_nexus("version").exit_code == 0
    assert db_rows("SELECT count(*) FROM events")[0][0] == 2


def test_reading_needs_no_sqlite_utils() -> None:
    assert run_nexus("stats").exit_code == 0
    code = (
        "import sys\nfrom nexus_cli.cli import main\nmain(['stats', '--json'])\n"
        "print('LOADED', 'sqlite_utils' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "LOADED False"


def _old_database(path: Path, applied: int) -> None:
    """What the previous store made: the base schema at user_version 1, then the first
    ``applied`` migrations run by sqlite-utils under their old names."""
    from sqlite_utils import Database
    from sqlite_utils.migrations import Migrations

    conn = sqlite3.connect(path)
    conn.executescript("BEGIN;" + schema.BASE_SCHEMA + "COMMIT;")
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    old = Migrations(store.SQLITE_UTILS_SET)
    for name, function in zip(store.SQLITE_UTILS_NAMES, store.MIGRATIONS[1:9], strict=True):
        old(name=name)(lambda db, run=function: run(db.conn))
    db = Database(path)
    db.execute(
        "INSERT INTO events (timestamp, session_id, event_type) VALUES ('2026-01-01', 's', 'x')"
    )
    db.conn.commit()
    old._migrations = old._migrations[:applied]
    old.apply(db)
    db.close()


@pytest.mark.parametrize("applied", [7, 4, 0])
def test_a_database_migrated_by_sqlite_utils_is_taken_over_not_migrated_again(
    tmp_path: Path, applied: int
) -> None:
    path = tmp_path / "telemetry.db"
    _old_database(path, applied)
    conn = sqlite3.connect(path)
    conn.execute("DROP INDEX IF EXISTS events_window")  # were m002 run again, it would come back
    conn.commit()
    conn.close()
    with store.migrated(str(path)) as db:
        assert migrations.version(db.conn) == store.LATEST
        indexes = {r[1] for r in db.execute("PRAGMA index_list(events)")}
        assert ("events_window" in indexes) == (applied == 0)  # ran again only if never run
        assert "events_session_time" in indexes  # m006 ran, then or now
        assert "rollup_cache" in db.table_names()
        columns = {r[1] for r in db.execute("PRAGMA table_info(patterns)")}
        assert {"pattern_key", "pattern_group"} <= columns
        assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 1
        recorded = db.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0]
        assert recorded == applied  # left as it was, unused
    with store.migrated(str(path)) as db:  # and opens as up to date from then on
        assert migrations.migrate(db.conn, store.MIGRATIONS, what="t") == 0


OPEN_IN_A_CHILD = """\
import os, sys, time
from nexus_cli import migrations
from nexus_cli.telemetry.db import store
print("opening", flush=True)
go = sys.argv[2] if len(sys.argv) > 2 else None
while go and not os.path.exists(go):  # all start at once
    time.sleep(0.001)
with store.migrated(sys.argv[1]) as db:
    print(migrations.version(db.conn), flush=True)
"""


def _child(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", OPEN_IN_A_CHILD, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("start", ["new", "sqlite-utils"])
def test_concurrent_first_uses_migrate_once(tmp_path: Path, start: str) -> None:
    path = tmp_path / "home" / "telemetry.db"
    path.parent.mkdir()
    if start == "sqlite-utils":
        _old_database(path, 3)
    go = tmp_path / "go"
    children = [_child(str(path), str(go)) for _ in range(8)]
    for child in children:
        assert child.stdout is not None and child.stdout.readline() == "opening\n"
    go.write_text("")
    for child in children:
        out, err = child.communicate(timeout=120)
        assert (child.returncode, out.strip(), err) == (0, str(store.LATEST), "")
    with store.migrated(str(path)) as db:
        assert db.execute("SELECT count(*) FROM events").fetchone()[0] == (start != "new")


def test_a_first_use_waits_for_the_migration_lock(tmp_path: Path) -> None:
    path = tmp_path / "telemetry.db"
    with locks.locked(tmp_path / store.MIGRATE_LOCK):
        child = _child(str(path))
        assert child.stdout is not None and child.stdout.readline() == "opening\n"
        with pytest.raises(subprocess.TimeoutExpired):
            child.wait(timeout=0.5)  # waiting for the lock this test holds
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
        conn.close()
    out, err = child.communicate(timeout=120)
    assert (child.returncode, out.strip(), err) == (0, str(store.LATEST), "")


def test_an_up_to_date_database_opens_without_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "telemetry.db"
    with store.migrated(str(path)):
        pass
    with locks.locked(tmp_path / store.MIGRATE_LOCK):
        out, err = _child(str(path)).communicate(timeout=120)
    assert (out.split(), err) == (["opening", str(store.LATEST)], "")


def test_window_queries_use_the_covering_index() -> None:
    with store.opened() as db:
        plan = " ".join(
            str(r[-1])
            for r in db.execute(
                "EXPLAIN QUERY PLAN SELECT command, count(*) FROM events "
                "WHERE timestamp >= ? AND timestamp < ? GROUP BY command",
                ["2026-01-01", "2026-02-01"],
            )
        )
    assert "COVERING INDEX events_window" in plan


def test_a_corrupt_database_is_one_clear_error_and_is_left_alone() -> None:
    db = paths.telemetry_db_path()
    db.parent.mkdir(parents=True)
    garbage = b"this is not a database" * 100
    db.write_bytes(garbage)
    with pytest.raises(StateError), store.opened():
        pass
    for args in (["stats", "--json"], ["insights"], ["dashboard"], ["export"], ["sync", "status"]):
        result = run_nexus(*args)
        assert result.exit_code == 1, args
        assert "Traceback" not in result.stderr
        if args[0] != "sync":
            assert result.stderr.splitlines()[0].startswith("error: cannot read the telemetry")
    assert db.read_bytes() == garbage


def test_a_home_whose_path_holds_uri_characters_reads_the_right_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read-only opens escape ``?``, ``#`` and ``%``: the status reads this home's database."""
    home = tmp_path / "we?ird#home%20x"
    monkeypatch.setenv("NEXUS_HOME", str(home))
    assert run_nexus("version").exit_code == 0
    assert run_nexus("version").exit_code == 0
    status = run_nexus("telemetry", "status", "--json").json()
    assert "error" not in status and status["events"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [home.name]
    doctor = run_nexus("doctor", "--json")
    assert "we?ird#home%20x" in doctor.stdout


def test_a_database_before_the_quarantine_gets_it_and_keeps_its_events() -> None:
    assert run_nexus("version").exit_code == 0
    with store.opened() as db:
        db.execute("DROP TABLE quarantine")
        db.execute("PRAGMA user_version = 8")  # as before m009_quarantine
        events = db.execute("SELECT count(*) FROM events").fetchone()[0]
    assert events == 1
    assert run_nexus("--no-telemetry", "telemetry", "status", "--json").json()["quarantined"] == {
        "total": 0,
        "kept": 0,
        "reasons": [],
    }
    with store.opened() as db:
        assert db.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM events").fetchone()[0] == events


def test_a_database_before_agent_usage_gets_its_tables_and_keeps_its_events() -> None:
    assert run_nexus("version").exit_code == 0
    with store.opened() as db:
        db.execute("DROP TABLE agent_usage")
        db.execute("DROP TABLE agent_log_marks")
        db.execute(f"PRAGMA user_version = {store.LATEST - 1}")  # as before m010_agent_usage
        events = db.execute("SELECT count(*) FROM events").fetchone()[0]
    with store.opened() as db:
        assert migrations.version(db.conn) == store.LATEST
        assert db.execute("SELECT count(*) FROM agent_usage").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM agent_log_marks").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM events").fetchone()[0] == events
        assert migrations.migrate(db.conn, store.MIGRATIONS, what="t") == 0
