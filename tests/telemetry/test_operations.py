"""The telemetry operations the commands call: each opens the real database itself."""

from __future__ import annotations

import pytest

from nexus_cli.errors import NotFoundError
from nexus_cli.telemetry import operations
from tests.conftest import run_nexus
from tests.telemetry.conftest import db_rows


def _record(n: int) -> None:
    for _ in range(n):
        assert run_nexus("version").exit_code == 0


def test_rebuild_counts_the_events_and_purge_empties_them() -> None:
    _record(3)
    rebuilt = operations.rebuild()
    assert rebuilt["events"] >= 3 and rebuilt["seconds"] >= 0
    deleted = operations.purge()
    assert deleted["events"] >= 3
    assert db_rows("SELECT count(*) FROM events") == [(0,)]


def test_purge_older_than_keeps_recent_rows() -> None:
    _record(2)
    assert operations.purge(older_than_days=30)["events"] == 0
    assert db_rows("SELECT count(*) FROM events")[0][0] >= 2


def test_sync_status_without_a_destination_says_how_to_set_one_up() -> None:
    with pytest.raises(NotFoundError, match="sync is not set up"):
        operations.sync_status()


def test_sync_status_hides_credentials_and_counts_what_is_pending() -> None:
    assert run_nexus("sync", "setup", "http://user:secret@127.0.0.1:9/v1/logs").exit_code == 0
    _record(2)
    info = operations.sync_status()
    assert "secret" not in str(info["url"]) and info["auto"] is False
    assert info["pending"] >= 2
    assert operations.database_path().endswith("telemetry.db")
