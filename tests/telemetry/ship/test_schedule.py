"""`nexus insights schedule`: one managed entry in the real crontab, other lines untouched."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from nexus_cli.telemetry.ship import schedule
from tests.conftest import run_nexus


@contextmanager
def _own_crontab(content: str | None) -> Iterator[str]:
    """The user's crontab set to ``content`` (None: no crontab) for the test, restored after.

    There is one crontab per user on the machine: tests that use it hold a machine-wide lock,
    so that workers of one run, or a second suite running beside this one, take turns."""
    crontab = shutil.which("crontab")
    if crontab is None:
        pytest.skip("no crontab command (apt install cron)")
    lock_path = Path(tempfile.gettempdir()) / "nexus-tests-crontab.lock"
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        saved = subprocess.run([crontab, "-l"], capture_output=True, text=True)
        if content is None:
            subprocess.run([crontab, "-r"], capture_output=True)
        else:
            subprocess.run([crontab, "-"], input=content, text=True, check=True)
        try:
            yield crontab
        finally:
            if saved.returncode == 0:
                subprocess.run([crontab, "-"], input=saved.stdout, text=True, check=True)
            else:
                subprocess.run([crontab, "-r"], capture_output=True)


@pytest.fixture
def real_crontab() -> Iterator[str]:
    """The user's crontab holding one line of theirs during the test."""
    with _own_crontab("# a line of the user's\n") as crontab:
        yield crontab


def _crontab(crontab: str) -> list[str]:
    return subprocess.run([crontab, "-l"], capture_output=True, text=True).stdout.splitlines()


def test_install_replace_and_remove(real_crontab: str) -> None:
    result = run_nexus("insights", "schedule", "--cron", "0 9 * * 1")
    assert result.exit_code == 0, result.stderr
    lines = _crontab(real_crontab)
    assert lines[0] == "# a line of the user's"
    (entry,) = [line for line in lines if line.endswith(schedule.MARKER)]
    assert entry.startswith("0 9 * * 1 NEXUS_HOME=") and "insights --report" in entry
    assert "{date}" in entry and "%" not in entry
    assert (
        run_nexus(
            "insights", "schedule", "--cron", "30 8 * * *", "--output", "/tmp/r.json"
        ).exit_code
        == 0
    )
    entries = [line for line in _crontab(real_crontab) if line.endswith(schedule.MARKER)]
    assert (
        len(entries) == 1 and entries[0].startswith("30 8 * * *") and "--format json" in entries[0]
    )
    assert run_nexus("insights", "schedule").stdout.strip() == entries[0]
    assert run_nexus("insights", "schedule", "--remove").exit_code == 0
    assert _crontab(real_crontab) == ["# a line of the user's"]


def test_bad_expressions_and_missing_crontab(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = run_nexus("insights", "schedule", "--cron", "every monday")
    assert bad.exit_code == 2 and "expected 5 fields" in bad.stderr
    monkeypatch.setenv("NEXUS_CRONTAB", "no-such-crontab-command")
    missing = run_nexus("insights", "schedule", "--cron", "0 9 * * 1")
    assert missing.exit_code == 1
    assert "`crontab` command is not installed" in missing.stderr
    assert "hint: add this line with your scheduler by hand: 0 9 * * 1 " in missing.stderr
    printed = run_nexus("insights", "schedule", "--cron", "0 9 * * 1", "--print")
    assert printed.exit_code == 0 and printed.stdout.strip().endswith(schedule.MARKER)


@pytest.mark.parametrize(
    ("expression", "accepted"),
    [
        ("0 9 * * 1", True),
        ("*/15 8-18 * * mon-fri", True),
        ("0 0 1 jan,jul *", True),
        ("0 9 * * 7", True),  # Sunday, as 0
        ("@weekly", True),
        ("61 9 * * 1", False),
        ("0 24 * * *", False),
        ("0 0 0 * *", False),
        ("*/0 * * * *", False),
        ("5-1 * * * *", False),
        ("0 9 * * funday", False),
        ("@fortnightly", False),
    ],
)
def test_each_field_is_checked_against_its_range(expression: str, accepted: bool) -> None:
    result = run_nexus("insights", "schedule", "--cron", expression, "--print")
    assert (result.exit_code == 0) is accepted, result.stderr
    if not accepted:
        assert result.exit_code == 2 and "--cron" in result.stderr


def test_a_relative_nexus_home_is_written_absolute(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """cron runs the line in the home folder, where a relative NEXUS_HOME names another store."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEXUS_HOME", "relhome")
    printed = run_nexus("insights", "schedule", "--cron", "0 9 * * 1", "--print")
    assert printed.exit_code == 0, printed.stderr
    assert f"NEXUS_HOME={tmp_path / 'relhome'} " in printed.stdout


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--output", "/tmp/r.md\n* * * * * touch /tmp/nexus-pwned"),
        ("--output", "/tmp/r.md\r* * * * * touch /tmp/nexus-pwned"),
        ("--output", "/tmp/r\x00.md"),
        ("--output", "/tmp/r\x1b[2J.md"),
        ("--output", "/tmp/r\x85.md"),
        ("--cron", "0 9 * * 1\n* * * * * touch /tmp/nexus-pwned"),
        ("--cron", "0 9 * * 1\r"),
        ("--cron", "0 9 * *\x00 1"),
    ],
)
def test_control_characters_never_reach_the_crontab(
    real_crontab: str, option: str, value: str
) -> None:
    args = {"--cron": "0 9 * * 1", "--output": "/tmp/r.md", option: value}
    before = _crontab(real_crontab)
    result = run_nexus("insights", "schedule", *[x for kv in args.items() for x in kv])
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith(f"error: {option} contains a control character")
    assert len(result.stderr.splitlines()) == 2  # error + hint
    assert _crontab(real_crontab) == before
    printed = run_nexus("insights", "schedule", "--print", *[x for kv in args.items() for x in kv])
    assert printed.exit_code == 2 and printed.stdout == ""


def test_a_control_character_in_nexus_home_is_refused(
    real_crontab: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NEXUS_HOME", str(tmp_path / "home\n* * * * * touch x"))
    result = run_nexus("--no-telemetry", "insights", "schedule", "--cron", "0 9 * * 1")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: NEXUS_HOME contains a control character")
    assert _crontab(real_crontab) == ["# a line of the user's"]


@pytest.fixture
def no_crontab() -> Iterator[str]:
    """No crontab at all for the user during the test."""
    with _own_crontab(None) as crontab:
        yield crontab


def test_nothing_installed_is_not_an_error_and_remove_restores_no_crontab(
    no_crontab: str,
) -> None:
    shown = run_nexus("insights", "schedule")
    assert shown.exit_code == 0
    assert shown.stdout == "" and shown.stderr.startswith("none installed")
    assert run_nexus("insights", "schedule", "--cron", "0 9 * * 1").exit_code == 0
    assert subprocess.run([no_crontab, "-l"], capture_output=True).returncode == 0
    assert run_nexus("insights", "schedule", "--remove").exit_code == 0
    after = subprocess.run([no_crontab, "-l"], capture_output=True, text=True)
    assert after.returncode != 0 and "no crontab" in after.stderr


def test_the_scheduled_command_is_silent_on_success(tmp_path: Path) -> None:
    out = tmp_path / "report-{date}.md"
    line = run_nexus("insights", "schedule", "--cron", "0 9 * * 1", "--print", "--output", str(out))
    command = line.stdout.strip()[len("0 9 * * 1 ") : -len(schedule.MARKER)].strip()
    ran = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "" and ran.stderr == ""  # cron mails any output: there is none
    assert len(list(tmp_path.glob("report-*.md"))) == 1
