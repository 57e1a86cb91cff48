"""`nexus doctor` reports records put aside and damaged roll-ups and caches; `--fix` repairs
what can be repaired (real telemetry.db, real cache files, the real CLI)."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from nexus_cli import paths
from nexus_cli.telemetry.db import rollup_marks, store
from nexus_cli.telemetry.journal import entry, file, invocation, recorder
from tests.conftest import run_nexus

CHECKS = ("telemetry:quarantine", "telemetry:rollups", "cache:yaml")


def _doctor(*args: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    result = run_nexus("--no-telemetry", "doctor", *args, "--json")
    assert "Traceback" not in result.stderr and "unexpected" not in result.stderr
    data = result.json()
    assert result.exit_code == (0 if data["ok"] else 1)
    return data, {c["name"]: c for c in data["checks"] if c["name"] in CHECKS}


def _valid(**changes: Any) -> dict[str, Any]:
    inv = invocation.Invocation(["version"])
    inv.command_path = ["version"]
    return {**recorder.build_entry(inv, 0, time.time(), 3, main=True), **changes}


def _record_events(*records: bytes) -> None:
    folder = paths.nexus_home() / paths.TELEMETRY_JOURNAL
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    (folder / file.JOURNAL_FILE).write_bytes(b"".join(records))
    with store.opened():
        pass


def test_a_fresh_home_passes_every_check() -> None:
    _, checks = _doctor()
    assert {name: c["status"] for name, c in checks.items()} == dict.fromkeys(CHECKS, "ok")


def test_a_damaged_database_is_not_reported_as_none_yet() -> None:
    paths.telemetry_db_path().parent.mkdir(parents=True, exist_ok=True)
    paths.telemetry_db_path().write_bytes(b"not a database" * 1000)
    data, checks = _doctor()
    assert not data["ok"]
    assert next(c for c in data["checks"] if c["name"] == "db:telemetry")["status"] == "fail"
    for name in ("telemetry:quarantine", "telemetry:rollups"):
        assert "cannot be read (see db:telemetry)" in checks[name]["detail"], checks[name]


def test_records_put_aside_are_reported_and_kept_by_fix() -> None:
    bad = _valid(raw_data='{"counts":{"workspaces_created":1e999}}')
    _record_events(entry.encode(_valid()), entry.SEPARATOR + json.dumps(bad).encode() + b"\n")
    _, checks = _doctor()
    found = checks["telemetry:quarantine"]
    assert found["status"] == "warn"
    assert "1 record the fold could not take" in found["detail"]
    assert ": raw_data: " in found["detail"] and "(journal) 1" in found["detail"]
    assert "SELECT * FROM quarantine" in found["fix"]
    data, checks = _doctor("--fix")
    assert data["repaired"] == []
    assert checks["telemetry:quarantine"]["status"] == "warn"  # kept for a person to look at


def test_damaged_roll_ups_are_reported_and_rebuilt_by_fix() -> None:
    _record_events(*(entry.encode(_valid(exit_code=1, success=0)) for _ in range(3)))
    with store.opened() as db:
        run_nexus("--no-telemetry", "stats", "--json")  # fills the cache
        db.execute("UPDATE rollup_seen SET sessions = 'garbage'")
        db.execute("UPDATE rollup_commands SET n = 'many'")
        db.execute("UPDATE maintenance SET value = 'x' WHERE key = ?", [rollup_marks.MARK_KEY])
        db.execute("INSERT OR REPLACE INTO rollup_cache VALUES ('days:a/b', 1, '{truncated')")
    _, checks = _doctor()
    found = checks["telemetry:rollups"]
    assert found["status"] == "warn"
    for part in (
        "the rollup_mark mark is not a number",
        "1 damaged row in rollup_commands",
        "1 damaged row in rollup_seen",
        "1 damaged row in rollup_cache",
    ):
        assert part in found["detail"]
    assert "doctor --fix" in found["fix"]
    data, checks = _doctor("--fix")
    assert data["repaired"] == ["telemetry:rollups: rebuilt from 3 events"]
    assert checks["telemetry:rollups"]["status"] == "ok"
    conn = sqlite3.connect(paths.telemetry_db_path())
    try:
        assert conn.execute("SELECT sum(n), sum(failed) FROM rollup_commands").fetchone() == (3, 3)
    finally:
        conn.close()
    data, _ = _doctor("--fix")
    assert data["repaired"] == []


def _yaml_entries() -> list[Path]:
    return sorted((Path(paths.cache_dir_str()) / "yaml").iterdir())


def test_damaged_yaml_cache_entries_are_reported_and_removed_by_fix() -> None:
    assert run_nexus("--no-telemetry", "template", "show", "bare", "--json").exit_code == 0
    assert run_nexus("--no-telemetry", "template", "show", "go-postgres", "--json").exit_code == 0
    first, second = _yaml_entries()[:2]
    first.write_text('{"data": ')
    second.unlink()
    second.mkdir()
    _, checks = _doctor()
    assert checks["cache:yaml"]["status"] == "warn"
    assert checks["cache:yaml"]["detail"].startswith("2 damaged entries")
    data, checks = _doctor("--fix")
    assert data["repaired"] == ["cache:yaml: removed 2 damaged entries"]
    assert checks["cache:yaml"]["status"] == "ok"
    assert not first.exists() and not second.exists()
    result = run_nexus("--no-telemetry", "doctor", "--fix")
    assert "nothing to repair" in result.stderr
