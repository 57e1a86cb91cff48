"""`nexus insights`: each detector on real recorded events, the patterns table, reports."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from nexus_cli import paths
from nexus_cli.telemetry.journal import invocation, recorder
from nexus_cli.telemetry.query import patterns
from nexus_cli.telemetry.query.window import Window
from tests.conftest import run_nexus
from tests.telemetry.conftest import db_rows


def emit(
    command: str,
    code: int = 0,
    *,
    category: str | None = None,
    ms: int = 10,
    signals: list[dict[str, Any]] = (),
    **fields: Any,
) -> None:  # type: ignore[assignment]
    """Record one invocation through the real recorder."""
    inv = invocation.begin(command.split())
    inv.command_path = command.split()
    inv.started = time.perf_counter() - ms / 1000
    if category:
        inv.fields["error_category"] = category
    inv.fields.update(fields)
    for sig in signals:
        inv.signals.append(dict(sig))
    assert recorder.record(inv, code)
    time.sleep(0.002)  # timestamps have millisecond resolution; real invocations are >= 30 ms apart


@pytest.fixture(autouse=True)
def one_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEXUS_SESSION_ID", "test-session")


def _insights(*args: str) -> list[dict[str, Any]]:
    result = run_nexus("--no-telemetry", "insights", "--json", *args)
    assert result.exit_code == 0, result.stderr
    return list(result.json()["insights"])


def test_port_conflicts_suggest_a_free_port() -> None:
    for _ in range(3):
        emit(
            "workspace up",
            1,
            category="port_conflict",
            signals=[{"kind": "port_conflict", "port": 3000}],
        )
        emit("version")
    found = {p["key"]: p for p in _insights("--errors")}
    pattern = found["error:port_conflict"]
    assert pattern["frequency"] == 3 and pattern["sessions"] == ["test-session"]
    assert "port 3001" in pattern["suggested_fix"]


def test_repeated_rejections_with_the_same_reason() -> None:
    for _ in range(3):
        emit("task approve", signals=[{"kind": "task_rejected", "reason_hash": "aaaa1111"}])
    emit("task approve", signals=[{"kind": "task_rejected", "reason_hash": "bbbb2222"}])
    found = [p for p in _insights("--improvements") if p["pattern_type"] == "repeated_rejection"]
    assert [p["frequency"] for p in found] == [3]
    assert "gate" in found[0]["suggested_fix"]


def test_workspaces_deleted_soon_after_creation() -> None:
    for age in (45, 300, 86400):
        emit("workspace delete", signals=[{"kind": "workspace_deleted", "age_s": age}])
    found = [p for p in _insights() if p["pattern_type"] == "short_lived_workspace"]
    assert len(found) == 1 and found[0]["frequency"] == 2
    assert found[0]["description"].endswith("(median age 45.0 s)")  # humanised, as in stats


def test_commands_retried_right_after_failing() -> None:
    for _ in range(3):
        emit("task complete", 3, category="gate_failed")
        emit("task complete", 0)
    emit("task list", 1, category="not_found")
    emit("version")
    retries = [p for p in _insights("--errors") if p["pattern_type"] == "retry_after_failure"]
    assert [(p["key"], p["frequency"]) for p in retries] == [("retry:task complete", 3)]
    assert "gate_failed" in retries[0]["suggested_fix"]


def test_slow_commands_and_growth(monkeypatch: pytest.MonkeyPatch) -> None:
    for ms in (2500, 2600, 2700, 2800, 3000, 3200):
        emit("workspace create", ms=ms)
    for _ in range(6):
        emit("version", ms=5)
    slow = _insights("--slow")
    assert [p["key"] for p in slow] == ["slow:workspace create"]
    assert "cached image" in slow[0]["suggested_fix"]
    # growth: fast runs three weeks ago, slow ones today, both under the threshold
    conn = sqlite3.connect(paths.telemetry_db_path())
    old = time.strftime("%Y-%m-%d %H:%M:%S.000", time.gmtime(time.time() - 21 * 86400))
    conn.executemany(
        "INSERT INTO events (timestamp, session_id, event_type, command, duration_ms, success, "
        "exit_code) VALUES (?, 's', 'command', 'doctor', ?, 1, 0)",
        [(old, 300)] * 10 + [(time.strftime("%Y-%m-%d %H:%M:%S.000", time.gmtime()), 1500)] * 10,
    )
    conn.commit()
    conn.close()
    grown = {p["key"]: p for p in _insights("--slow")}["slow:doctor"]
    assert "grew from 300 ms to 1.5 s" in grown["description"]


def test_patterns_are_kept_and_updated_in_place() -> None:
    for _ in range(3):
        emit("workspace up", 1, category="docker_unavailable")
    _insights()
    key = "WHERE pattern_key = 'error:docker_unavailable'"
    first = db_rows(f"SELECT pattern_key, first_seen, frequency FROM patterns {key}")
    emit("workspace up", 1, category="docker_unavailable")
    _insights()
    second = db_rows(
        f"SELECT pattern_key, first_seen, frequency, suggested_fix FROM patterns {key}"
    )
    assert len(second) == len(first) == 1
    assert db_rows("SELECT count(*) FROM patterns")[0][0] == 2  # plus the retries pattern
    assert second[0][1] == first[0][1] and second[0][2] == 4
    assert "Docker" in second[0][3]


def test_plain_output_and_empty_window() -> None:
    result = run_nexus("insights")
    assert result.exit_code == 0
    assert "no patterns detected" in result.stderr


def test_report_markdown_and_json_files(tmp_path: Path) -> None:
    for _ in range(3):
        emit("workspace up", 1, category="health_timeout")
    out = tmp_path / "report-{date}.md"
    result = run_nexus("insights", "--report", "--output", str(out), "--since", "7d")
    assert result.exit_code == 0, result.stderr
    (written,) = tmp_path.glob("report-*.md")
    text = written.read_text()
    assert text.startswith("# Nexus insights report") and "health_timeout" in text
    assert "\x1b[" not in text
    again = run_nexus("insights", "--report", "--output", str(written))
    assert again.exit_code == 1 and "already exists" in again.stderr
    assert run_nexus("insights", "--report", "--output", str(written), "--force").exit_code == 0
    as_json = run_nexus("insights", "--report", "--format", "json")
    report = json.loads(as_json.stdout)
    assert report["stats"]["invocations"] >= 3 and report["insights"]


def test_report_into_a_read_only_folder(tmp_path: Path) -> None:
    # /sys refuses new files even for root; elsewhere a 0500 folder does
    target = Path("/sys/nexus-report.md")
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        target = locked / "r.md"
    result = run_nexus("insights", "--report", "--output", str(target))
    assert result.exit_code == 1
    # EACCES from a 0500 folder; sysfs refuses the temp folder with EPERM
    assert result.stderr.splitlines() in [
        [
            f"error: cannot write {target}: {reason}",
            "hint: check the folder's permissions (or that the file system is writable)",
        ]
        for reason in ("Permission denied", "Operation not permitted")
    ]


def test_report_into_a_missing_folder(tmp_path: Path) -> None:
    before = (
        db_rows("SELECT count(*) FROM events") if paths.telemetry_db_path().exists() else [(0,)]
    )
    result = run_nexus("insights", "--report", "--output", str(tmp_path / "nope" / "r.md"))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: cannot write {tmp_path / 'nope' / 'r.md'}: No such file or directory"
    ]
    assert db_rows("SELECT count(*) FROM events")[0][0] == before[0][0] + 1


def test_human_durations() -> None:
    from nexus_cli.telemetry.query.durations import human_ms

    assert [human_ms(v) for v in (None, 85, 2500, 250_000, 8_071_900)] == [
        "-",
        "85 ms",
        "2.5 s",
        "4m 10s",
        "2h 14m",
    ]


@pytest.mark.parametrize("tz", ["UTC", "America/New_York", "Asia/Kolkata"])
def test_recent_starts_at_a_utc_midnight_in_long_windows(
    monkeypatch: pytest.MonkeyPatch, tz: str
) -> None:
    monkeypatch.setenv("TZ", tz)
    time.tzset()
    try:
        month = Window("2026-11-01 03:22:44.274", "2026-12-01 03:22:44.274", "30 days")
        # the quarter point, 2026-11-23 21:22, is nearer the midnight after it
        assert patterns.split_point(month) == "2026-11-24 00:00:00.000"
        week = Window("2026-11-20 10:00:00.000", "2026-11-24 10:00:00.000", "4 days")
        assert patterns.split_point(week) == "2026-11-23 00:00:00.000"  # 11-23 10:00 rounds down
        # shorter windows split exactly at the quarter point
        day = Window("2026-11-20 12:00:00.000", "2026-11-21 12:00:00.000", "1 day")
        assert patterns.split_point(day) == "2026-11-21 06:00:00.000"
    finally:
        monkeypatch.undo()
        time.tzset()
