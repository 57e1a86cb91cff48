"""`nexus export`: JSON, NDJSON, CSV and a SQL dump that restores; never the salt."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

from nexus_cli import paths
from nexus_cli.telemetry import privacy
from tests.conftest import run_nexus
from tests.telemetry.conftest import db_rows


def _some_events() -> None:
    for args in (["version"], ["stats"], ["nope"], ["insights"]):
        run_nexus(*args)
    privacy.hash_name("demo", kind="workspace")  # make sure a salt exists


def test_json_ndjson_and_csv_hold_the_rows() -> None:
    _some_events()
    events = db_rows("SELECT count(*) FROM events")[0][0]
    data = json.loads(run_nexus("--no-telemetry", "export").stdout)
    assert set(data) == {"events", "sessions", "patterns"} and len(data["events"]) == events
    lines = run_nexus("--no-telemetry", "export", "--format", "ndjson").stdout.splitlines()
    tables = [json.loads(line)["table"] for line in lines]
    assert tables.count("events") == events and "sessions" in tables
    rows = list(
        csv.DictReader(io.StringIO(run_nexus("--no-telemetry", "export", "--format", "csv").stdout))
    )
    assert len(rows) == events and rows[0]["command"] == "version"
    sessions = run_nexus(
        "--no-telemetry", "export", "--format", "csv", "--table", "sessions"
    ).stdout
    assert sessions.startswith("id,session_id,")
    assert (
        run_nexus("export", "--format", "csv", "--table", "events", "--table", "sessions").exit_code
        == 2
    )


def test_since_filters_and_bad_dates_fail() -> None:
    _some_events()
    data = json.loads(run_nexus("--no-telemetry", "export", "--since", "2099-01-01").stdout)
    assert data["events"] == []
    bad = run_nexus("export", "--since", "someday")
    assert bad.exit_code == 2 and bad.stderr.startswith("error: --since: unknown date")


def test_sql_dump_restores_into_an_empty_database_without_the_salt(tmp_path: Path) -> None:
    _some_events()
    out = tmp_path / "dump.sql"
    assert run_nexus("--no-telemetry", "export", "--sql", "--output", str(out)).exit_code == 0
    dump = out.read_text()
    salt = (paths.nexus_home() / paths.SALT_FILE).read_text().strip()
    assert salt and salt not in dump
    restored = sqlite3.connect(tmp_path / "restored.db")
    restored.executescript(dump)
    for table in ("events", "sessions", "patterns", "_sqlite_migrations"):
        original = db_rows(f"SELECT * FROM {table} ORDER BY id")
        assert list(restored.execute(f"SELECT * FROM {table} ORDER BY id")) == original
    restored.close()
    json_out = run_nexus("--no-telemetry", "export", "--output", str(tmp_path / "e.json"))
    assert json_out.exit_code == 0 and salt not in (tmp_path / "e.json").read_text()
    clash = run_nexus("export", "--sql", "--output", str(out))
    assert clash.exit_code == 1 and "already exists" in clash.stderr
    assert out.read_text() == dump
