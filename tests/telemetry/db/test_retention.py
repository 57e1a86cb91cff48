"""Retention: configured maximum age, applied by reading commands at most once a day."""

from __future__ import annotations

from pathlib import Path

from nexus_cli.telemetry.db import retention, store
from tests.conftest import run_nexus
from tests.telemetry.conftest import db_rows, write_config


def test_reading_commands_prune_by_the_configured_age(filled: Path) -> None:
    oldest = db_rows("SELECT min(timestamp) FROM events")[0][0]
    write_config({"telemetry": {"retention_days": 20}})
    assert run_nexus("stats").exit_code == 0
    after = db_rows("SELECT min(timestamp), count(*) FROM events")[0]
    assert after[0] > oldest
    with store.opened() as db:
        assert retention.apply_daily(db) is None  # already done today
    assert run_nexus("telemetry", "status", "--json").json()["retention_days"] == 20


def test_purge_older_than(filled: Path) -> None:
    total = db_rows("SELECT count(*) FROM events")[0][0]
    result = run_nexus("--no-telemetry", "telemetry", "purge", "--older-than", "30", "--yes")
    assert result.exit_code == 0, result.stderr
    left = db_rows("SELECT count(*) FROM events")[0][0]
    assert 0 < left < total


def test_a_broken_config_is_named() -> None:
    write_config({"telemetry": {"retention_days": "forever"}})
    result = run_nexus("stats")
    assert result.exit_code == 1
    assert "config.json: telemetry.retention_days must be" in result.stderr
