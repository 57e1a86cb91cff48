"""Retention: configured maximum age, applied by reading commands at most once a day."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nexus_cli import paths
from nexus_cli.telemetry.db import retention, store
from nexus_cli.telemetry.db.schema import stamp
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


def test_rows_put_aside_are_pruned_like_the_rest() -> None:
    folder = paths.nexus_home() / paths.TELEMETRY_JOURNAL
    folder.mkdir(mode=0o700, parents=True)
    (folder / "events").write_bytes(b"\x1eold junk\n\x1enew junk\n")
    assert run_nexus("--no-telemetry", "telemetry", "status").exit_code == 0
    conn = sqlite3.connect(paths.telemetry_db_path())
    with conn:
        conn.execute(
            "UPDATE quarantine SET at = ? WHERE id = 1",
            [stamp(datetime.now(UTC) - timedelta(days=40))],
        )
    conn.close()
    result = run_nexus("--no-telemetry", "telemetry", "purge", "--older-than", "30", "--yes")
    assert result.exit_code == 0, result.stderr
    assert "quarantine 1" in result.stderr
    assert db_rows("SELECT data FROM quarantine") == [(b"new junk\n",)]


def test_agent_usage_is_pruned_by_age_and_purged() -> None:
    from nexus_cli.telemetry.db import agent_usage

    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    with store.opened() as db, db.atomic():
        agent_usage.put(
            db,
            [
                agent_usage.UsageRecord(
                    f"k{days}", "claude", "s", "m", now_ms - days * 86_400_000, 5
                )
                for days in (1, 40)
            ],
        )
    with store.opened() as db:
        assert retention.prune_older_than(db, 30)["agent_usage"] == 1
    assert db_rows("SELECT key FROM agent_usage") == [("k1",)]
    result = run_nexus("--no-telemetry", "telemetry", "purge", "--yes")
    assert result.exit_code == 0, result.stderr
    assert db_rows("SELECT count(*) FROM agent_usage") == [(0,)]
