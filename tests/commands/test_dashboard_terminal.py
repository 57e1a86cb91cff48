"""``dashboard --watch`` in a real terminal (tmux) at 80×24 and 160×50."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nexus_cli import paths
from nexus_cli.telemetry.store import synthetic

SOCKET = f"nexus-dash-test-{os.getpid()}"


def _tmux(*args: str) -> str:
    return subprocess.run(
        ["tmux", "-L", SOCKET, "-f", "/dev/null", *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout


def _screen() -> str:
    return _tmux("capture-pane", "-p", "-t", "dash")


def _wait(predicate: object, seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    screen = ""
    while time.monotonic() < deadline:
        screen = _screen()
        if predicate(screen):  # type: ignore[operator]
            return screen
        time.sleep(0.2)
    raise AssertionError(f"the screen never matched:\n{screen}")


@pytest.fixture
def filled(isolated_home: Path) -> Path:
    if shutil.which("tmux") is None:
        if os.environ.get("CI"):
            pytest.fail("tmux is not installed (CI installs it)")
        pytest.skip("tmux is not installed")
    db = paths.telemetry_db_path()
    db.parent.mkdir(parents=True, exist_ok=True)
    synthetic.fill(str(db), 5000, 30)
    return db


@pytest.mark.parametrize(("width", "height"), [(80, 24), (160, 50)])
def test_watch_fits_the_terminal_and_quits_on_q(filled: Path, width: int, height: int) -> None:
    command = (
        f"env -u COLUMNS -u LINES NEXUS_HOME={os.environ['NEXUS_HOME']} HOME={os.environ['HOME']} "
        f"{sys.executable} -m nexus_cli dashboard --watch --interval 0.5; echo EXITED-$?"
    )
    try:
        _tmux(
            "new-session",
            "-d",
            "-s",
            "dash",
            "-x",
            str(width),
            "-y",
            str(height),
            f"{command}; sleep 60",
        )
        screen = _wait(lambda s: "q quit" in s and "Insights" in s)
        lines = screen.splitlines()
        assert len(lines) <= height
        assert all(len(line) <= width for line in lines)
        assert "Command timings" in screen and "workspace list" in screen
        assert "Templates and issues" in screen
        assert "•" in screen and "→" in screen  # at least one insight with its fix
        assert "..." not in screen
        assert _tmux("display", "-p", "-t", "dash", "#{alternate_on}").strip() == "1"
        if width >= 160:
            # Side by side: the timings and the insights share the rows.
            row = next(line for line in lines if "Command timings" in line)
            assert "Insights" in row
            assert row.rstrip().endswith("╮") and len(row.rstrip()) == width
        _tmux("send-keys", "-t", "dash", "q")
        after = _wait(lambda s: "EXITED-0" in s, seconds=15)
        assert "Command timings" not in after  # the alternate screen is gone, nothing left over
        assert _tmux("display", "-p", "-t", "dash", "#{alternate_on}").strip() == "0"
    finally:
        subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True)
        time.sleep(0.3)
