"""`nexus export`: JSON, NDJSON, CSV and a SQL dump that restores; never the salt."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sqlite3
import stat
import subprocess
import time
from pathlib import Path

import pytest

from nexus_cli import paths
from nexus_cli.telemetry.db import store, versions
from nexus_cli.telemetry.journal import privacy
from tests.conftest import nexus_exe, run_nexus
from tests.telemetry.conftest import db_rows, write_config


def _some_events() -> None:
    for args in (["version"], ["stats"], ["nope"], ["insights"]):
        run_nexus(*args)
    privacy.hash_name("demo", kind="workspace")  # make sure a salt exists


def test_json_ndjson_and_csv_hold_the_rows() -> None:
    _some_events()
    run_nexus("version", "--json")  # an event with raw_data (the option names)
    events = db_rows("SELECT count(*) FROM events")[0][0]
    data = json.loads(run_nexus("--no-telemetry", "export").stdout)
    assert set(data) == {"events"} and len(data["events"]) == events  # events only by default
    first = data["events"][0]
    assert first["timestamp"].endswith("Z") and "T" in first["timestamp"]
    assert first["success"] is True
    raw = [e["raw_data"] for e in data["events"]]
    assert all(r is None or isinstance(r, dict) for r in raw) and any(raw)  # objects, not text
    everything = json.loads(run_nexus("--no-telemetry", "export", "--table", "all").stdout)
    assert set(everything) == {"events", "sessions", "patterns"}
    assert everything["events"] == data["events"]
    lines = run_nexus(
        "--no-telemetry", "export", "--format", "ndjson", "--table", "events", "--table", "sessions"
    ).stdout.splitlines()
    tables = [json.loads(line)["table"] for line in lines]
    assert tables.count("events") == events and "sessions" in tables and "patterns" not in tables
    assert all(json.loads(line)["timestamp"].endswith("Z") for line in lines[:events])
    rows = list(
        csv.DictReader(io.StringIO(run_nexus("--no-telemetry", "export", "--format", "csv").stdout))
    )
    assert len(rows) == events and rows[0]["command"] == "version"
    assert rows[0]["timestamp"].endswith("Z") and rows[0]["success"] == "1"  # CSV: stored 0/1
    sessions = run_nexus(
        "--no-telemetry", "export", "--format", "csv", "--table", "sessions"
    ).stdout
    assert sessions.startswith("id,session_id,")
    for tables in (["--table", "events", "--table", "sessions"], ["--table", "all"]):
        assert run_nexus("export", "--format", "csv", *tables).exit_code == 2


def test_since_filters_and_bad_dates_fail() -> None:
    _some_events()
    later = run_nexus("--no-telemetry", "export", "--since", "2099-01-01", "--until", "2099-02-01")
    assert json.loads(later.stdout)["events"] == []
    bad = run_nexus("export", "--since", "someday")
    assert bad.exit_code == 2 and bad.stderr.startswith("error: --since: unknown date")
    future = run_nexus("export", "--since", "2099-01-01")
    assert future.exit_code == 2 and "is not before --until" in future.stderr


def test_the_window_options_of_stats_choose_the_rows() -> None:
    """docs/telemetry.md: export takes --today, --week, --month, --since and --until as stats
    does; --until alone exports everything before it; a SQL dump takes none."""
    _some_events()
    every = json.loads(run_nexus("--no-telemetry", "export").stdout)["events"]
    assert every
    week = json.loads(run_nexus("--no-telemetry", "export", "--week").stdout)["events"]
    assert [e["id"] for e in week] == [e["id"] for e in every]  # all of them were just made
    before = run_nexus("--no-telemetry", "export", "--until", "2000-01-01", "--format", "ndjson")
    assert before.exit_code == 0 and before.stdout == ""
    dump = run_nexus("--no-telemetry", "export", "--sql", "--week")
    assert dump.exit_code == 2 and "takes no time window" in dump.stderr
    metrics = run_nexus("--no-telemetry", "export", "--format", "openmetrics", "--today")
    assert metrics.exit_code == 2 and "no --table, --sql or time window" in metrics.stderr


def test_sql_dump_restores_into_an_empty_database_without_the_salt(tmp_path: Path) -> None:
    _some_events()
    out = tmp_path / "dump.sql"
    assert run_nexus("--no-telemetry", "export", "--sql", "--output", str(out)).exit_code == 0
    dump = out.read_text()
    salt = (paths.nexus_home() / paths.SALT_FILE).read_text().strip()
    assert salt and salt not in dump
    restored = sqlite3.connect(tmp_path / "restored.db")
    restored.executescript(dump)
    for table in ("events", "sessions", "patterns"):
        original = db_rows(f"SELECT * FROM {table} ORDER BY id")
        assert list(restored.execute(f"SELECT * FROM {table} ORDER BY id")) == original
    assert restored.execute("PRAGMA user_version").fetchone()[0] == versions.LATEST
    restored.close()
    with store.migrated(str(tmp_path / "restored.db")) as db:  # opens as up to date
        assert db.execute("SELECT count(*) FROM events").fetchone()[0] == len(
            db_rows("SELECT id FROM events")
        )
    json_out = run_nexus("--no-telemetry", "export", "--output", str(tmp_path / "e.json"))
    assert json_out.exit_code == 0 and salt not in (tmp_path / "e.json").read_text()
    clash = run_nexus("export", "--sql", "--output", str(out))
    assert clash.exit_code == 1 and "already exists" in clash.stderr
    assert out.read_text() == dump


def _special(kind: str, where: Path) -> Path:
    target = where / f"out-{kind}"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "folder":
        target.mkdir()
    elif kind == "device":
        if os.geteuid() != 0:
            pytest.skip("making a device node needs root")
        os.mknod(target, 0o600 | stat.S_IFCHR, os.makedev(1, 3))  # like /dev/null
    elif kind == "symlink":
        (where / "victim").write_text("keep me\n")
        target.symlink_to(where / "victim")
    elif kind == "dangling-symlink":
        target.symlink_to(where / "nowhere")
    return target


@pytest.mark.parametrize("kind", ["fifo", "folder", "device", "symlink", "dangling-symlink"])
def test_force_never_replaces_something_that_is_not_a_regular_file(
    kind: str, tmp_path: Path
) -> None:
    _some_events()
    target = _special(kind, tmp_path)
    before = os.lstat(target)
    for extra in ([], ["--force"]):
        result = run_nexus("--no-telemetry", "export", "--output", str(target), *extra)
        assert result.exit_code == 1, result.stderr
        assert result.stderr.startswith(f"error: {target} is "), result.stderr
        assert "unexpected" not in result.stderr
        after = os.lstat(target)
        assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)
    if kind == "symlink":
        assert (tmp_path / "victim").read_text() == "keep me\n"
    if kind == "dangling-symlink":
        assert not (tmp_path / "nowhere").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_exports_are_private(tmp_path: Path) -> None:
    _some_events()
    for extra in (["--format", "csv"], ["--sql"], []):
        out = tmp_path / f"e{len(extra)}"
        assert run_nexus("--no-telemetry", "export", "-o", str(out), *extra).exit_code == 0
        assert stat.S_IMODE(out.stat().st_mode) == 0o600
    # --force over an existing world-readable file makes it private too
    (tmp_path / "old.json").write_text("{}")
    (tmp_path / "old.json").chmod(0o644)
    forced = run_nexus("--no-telemetry", "export", "-o", str(tmp_path / "old.json"), "--force")
    assert forced.exit_code == 0, forced.stderr
    assert stat.S_IMODE((tmp_path / "old.json").stat().st_mode) == 0o600


def _temp_files(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_an_interrupted_export_leaves_no_temp_file(
    tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    from nexus_cli.telemetry.db import synthetic

    write_config({"telemetry": {"retention_days": 0}})
    synthetic.fill(str(paths.telemetry_db_path()), 60_000, 30, seed=5)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    proc = subprocess.Popen(
        [*nexus_exe(), "export", "--format", "ndjson", "--output", str(out_dir / "big.ndjson")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not _temp_files(out_dir) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert _temp_files(out_dir), "the export finished before it could be interrupted"
        time.sleep(0.1)  # let it write a while
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr
    assert list(out_dir.iterdir()) == []
