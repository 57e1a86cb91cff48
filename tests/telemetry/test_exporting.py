"""The export core: checks its request, streams or writes a file, never the salt."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from nexus_cli import paths
from nexus_cli.errors import ConflictError, UsageError
from nexus_cli.telemetry import exporting
from nexus_cli.telemetry.db import versions
from nexus_cli.telemetry.journal import privacy
from tests.conftest import run_nexus


def _record_some() -> None:
    for args in (["version"], ["nope"]):
        run_nexus(*args)


def test_streams_json_to_write() -> None:
    _record_some()
    chunks: list[str] = []
    assert exporting.export(write=chunks.append) is None
    events = json.loads("".join(chunks))["events"]
    assert [e["command"] for e in events][:1] == ["version"]
    assert len(events) >= 2


def test_writes_a_private_file_and_refuses_to_replace_it(tmp_path: Path) -> None:
    _record_some()
    target = tmp_path / "out.ndjson"
    path = exporting.export(fmt="ndjson", output=str(target), write=pytest.fail)
    assert path == str(target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert all(json.loads(line)["table"] == "events" for line in target.read_text().splitlines())
    with pytest.raises(ConflictError, match="already exists"):
        exporting.export(fmt="ndjson", output=str(target), write=pytest.fail)


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"fmt": "csv", "tables": ("events", "sessions")}, "CSV holds one table"),
        ({"tables": ("secrets",)}, "unknown table 'secrets'"),
        ({"fmt": "xml"}, "unknown export format 'xml'"),
        ({"sql": True, "window": exporting.Bounds(None, "2026-01-01")}, "takes no time window"),
    ],
)
def test_a_bad_request_is_a_usage_error_before_the_database_is_opened(
    request_: dict[str, object], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        exporting.export(write=pytest.fail, **request_)  # type: ignore[arg-type]
    assert not paths.telemetry_db_path().exists()


def test_the_sql_dump_holds_no_salt() -> None:
    _record_some()
    privacy.hash_name("demo", kind="workspace")  # makes the salt
    chunks: list[str] = []
    exporting.export(sql=True, write=chunks.append)
    dump = "".join(chunks)
    assert "CREATE TABLE" in dump and dump.rstrip().endswith(
        f"PRAGMA user_version = {versions.LATEST};"
    )
    salt = (paths.nexus_home() / paths.SALT_FILE).read_text().strip()
    assert len(salt) >= 16 and salt not in dump


def test_a_bad_window_is_a_usage_error_and_until_alone_has_no_start() -> None:
    with pytest.raises(UsageError, match="--since"):
        exporting.Bounds.of(since="yesterday-ish")
    with pytest.raises(UsageError, match="choose one of --week, --since"):
        exporting.Bounds.of(week=True, since="3d")
    assert exporting.Bounds.of(until="2026-01-01") == exporting.Bounds(
        None, "2026-01-02 00:00:00.000"
    )
