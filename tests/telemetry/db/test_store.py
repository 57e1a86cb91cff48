"""The analytics store: migrations on top of the recorder's schema, corrupt databases."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexus_cli import paths
from nexus_cli.errors import StateError
from nexus_cli.telemetry.db import store
from tests.conftest import run_nexus
from tests.telemetry.conftest import db_rows


def test_migrations_apply_once_and_keep_the_recorder_working() -> None:
    assert run_nexus("version").exit_code == 0  # the recorder creates the base schema
    with store.opened() as db:
        assert store.applied_migrations(db) == [
            "m001_events_window_index",
            "m002_pattern_key",
            "m003_sync_marks",
            "m004_maintenance",
            "m005_events_session_index",
            "m006_rollups",
            "m007_rollup_cache",
            "m008_quarantine",
        ]
        assert "events_window" in {r[1] for r in db.execute("PRAGMA index_list(events)")}
    assert store.defined_migrations() == list(store.MIGRATION_NAMES)
    with store.opened() as db:  # idempotent
        assert len(store.applied_migrations(db)) == 8
    assert run_nexus("version").exit_code == 0
    assert db_rows("SELECT count(*) FROM events")[0][0] == 2


def test_reading_needs_no_sqlite_utils_once_migrated() -> None:
    import subprocess
    import sys

    assert run_nexus("stats").exit_code == 0
    code = (
        "import sys\nfrom nexus_cli.cli import main\nmain(['stats', '--json'])\n"
        "print('LOADED', 'sqlite_utils' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "LOADED False"


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
        db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm008_quarantine'")
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
