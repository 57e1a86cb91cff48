"""`nexus telemetry status|on|off|purge`."""

from __future__ import annotations

import pytest

from nexus_cli import paths
from tests.conftest import run_nexus
from tests.telemetry.conftest import db_rows

TABLES = ("events", "sessions", "patterns", "sync_marks", "maintenance")


def test_off_records_nothing_and_purge_empties_every_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for args in (["version"], ["nope"], ["stats"], ["insights"]):
        run_nexus(*args)
    before = db_rows("SELECT count(*) FROM events")[0][0]
    assert run_nexus("telemetry", "off").exit_code == 0
    for args in (["version"], ["stats"], ["dashboard"], ["nope"]):
        run_nexus(*args)
    assert db_rows("SELECT count(*) FROM events")[0][0] == before + 0
    status = run_nexus("telemetry", "status", "--json").json()
    assert status["enabled"] is False and status["source"].startswith("config")
    assert run_nexus("telemetry", "on").exit_code == 0
    unasked = run_nexus("telemetry", "purge", input="y\n")  # stdin is not a terminal: no prompt
    assert unasked.exit_code == 4 and "pass --yes" in unasked.stderr
    assert db_rows("SELECT count(*) FROM events")[0][0] > 0
    from nexus_cli.commands import options

    monkeypatch.setattr(options, "stdin_is_terminal", lambda: True)  # as on a terminal
    declined = run_nexus("telemetry", "purge", input="n\n")
    assert declined.exit_code == 1 and db_rows("SELECT count(*) FROM events")[0][0] > 0
    result = run_nexus("telemetry", "purge", "--yes")
    assert result.exit_code == 0, result.stderr
    for table in TABLES:
        assert db_rows(f"SELECT count(*) FROM {table}")[0][0] == 0, table


def test_status_says_what_is_collected() -> None:
    run_nexus("version")
    status = run_nexus("telemetry", "status", "--json").json()
    assert status["events"] == 1 and status["sessions"] == 1
    assert "command" in status["fields_collected"] and status["sync"] is None
    plain = run_nexus("telemetry", "status").stdout
    assert "retention: 90 days" in plain and "nothing leaves this machine" in plain
    assert run_nexus("telemetry", "status", env={"DO_NOT_TRACK": "1"}).stdout.startswith(
        "recording: off (DO_NOT_TRACK is set)"
    )


def test_status_of_a_damaged_database_fails_instead_of_saying_zero_events() -> None:
    paths.telemetry_db_path().parent.mkdir(parents=True, exist_ok=True)
    paths.telemetry_db_path().write_bytes(b"not a database at all" * 1000)
    for args in (("telemetry", "status"), ("telemetry", "status", "--json")):
        result = run_nexus("--no-telemetry", *args)
        assert result.exit_code == 1, result.stderr
        assert "cannot read the database" in result.stderr and "nexus doctor" in result.stderr
    shown = run_nexus("--no-telemetry", "telemetry", "status", "--json")
    assert "cannot read the database" in shown.json()["error"]  # the rest is still shown


def test_a_bad_retention_setting_is_said_once() -> None:
    config = paths.nexus_home() / "config.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('{"telemetry": {"retention_days": -3}}')
    shown = run_nexus("--no-telemetry", "telemetry", "status").stdout
    [line] = [x for x in shown.splitlines() if x.startswith("retention:")]
    assert "must be a whole number of days >= 0" in line and "days (0 = keep" not in line
