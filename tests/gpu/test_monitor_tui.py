"""The interactive `gpu monitor` in a real terminal (tmux): sort, filter, inspect, act.

NVML is faked at its adapter through ``NEXUS_NVML_FAKE`` (a JSON file the `nexus` subprocess
reads); the processes it lists are real, and so are the signals.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from nexus_cli.gpu.model import GpuProcessReading
from tests.conftest import REPO_ROOT
from tests.gpu.conftest import GIB, Trainer, make_gpu, running_process, wait_until, write_fake_nvml

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


@dataclass
class Screen:
    socket: str
    name: str

    def tmux(self, *args: str) -> str:
        out = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10
        )
        return out.stdout

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.name, *keys)

    def text(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.name)

    def wait_for(self, *needles: str, timeout: float = 15) -> str:
        """The screen once it shows every needle (a panel is drawn over several refreshes: the
        first of its lines can be on screen before the others)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            if all(needle in text for needle in needles):
                return text
            assert time.monotonic() < deadline, f"{needles!r} never all appeared:\n{text}"
            time.sleep(0.1)

    def lines_with(self, needle: str) -> list[str]:
        return [line for line in self.text().splitlines() if needle in line]


@pytest.fixture
def monitor(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], Screen]]:
    screens: list[Screen] = []

    def start(env: dict[str, str]) -> Screen:
        screen = Screen(f"nexus-gpu-{uuid.uuid4().hex[:8]}", "mon")
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        command = (
            f"cd {shlex.quote(str(REPO_ROOT))} && env -u COLUMNS -u LINES {exports} TERM=xterm-256color"
            f" {shlex.quote(sys.executable)} -m nexus_cli gpu monitor --interval 0.3;"
            f" echo MONITOR-EXITED-$?; sleep 30"
        )
        screen.tmux("new-session", "-d", "-x", "160", "-y", "50", "-s", screen.name, command)
        screens.append(screen)
        screen.wait_for("Processes (sorted by memory)")
        return screen

    yield start
    for screen in screens:
        screen.tmux("kill-server")


def _row_pids(text: str, pids: list[int]) -> list[int]:
    """The PIDs in the order the process table in ``text`` shows them."""
    order = []
    for line in text.splitlines():
        for pid in pids:
            if f" {pid} " in line and "impact" not in line:
                order.append(pid)
    return order


def _wait_for_rows(screen: Screen, needle: str, pids: list[int], expected: list[int]) -> None:
    """Wait for one capture of the screen that shows ``needle`` and the rows of ``pids`` in the
    order ``expected``. A frame is drawn over several refreshes: the table's title (or the status
    line) can be on screen before its rows are redrawn, so both are read from the same capture."""
    deadline = time.monotonic() + 15
    while True:
        text = screen.text()
        if needle in text and _row_pids(text, pids) == expected:
            return
        assert time.monotonic() < deadline, f"never {needle!r} with rows {expected}:\n{text}"
        time.sleep(0.1)


def test_sort_filter_inspect_and_kill(
    monitor: Callable[[dict[str, str]], Screen],
    start_trainer: Callable[..., Trainer],
    tmp_path: Path,
) -> None:
    trainer = start_trainer("--interval", "0.3")
    sleeper = running_process(["sleep", "120"])
    try:
        env = write_fake_nvml(
            tmp_path / "nvml.json",
            [make_gpu("0"), make_gpu("1", utilization_pct=12)],
            {
                "0": [GpuProcessReading(trainer.pid, "0", 20 * GIB, ["compute"])],
                "1": [GpuProcessReading(sleeper.pid, "1", 30 * GIB, ["compute"])],
            },
            {"0": {trainer.pid: 90}, "1": {sleeper.pid: 5}},
        )
        env["PYTHONPATH"] = str(REPO_ROOT)
        screen = monitor(env)
        pids = [trainer.pid, sleeper.pid]
        # memory: 30 GiB first
        _wait_for_rows(screen, "sorted by memory", pids, [sleeper.pid, trainer.pid])
        screen.keys("s")
        # SM 90% first
        _wait_for_rows(screen, "sorted by utilisation", pids, [trainer.pid, sleeper.pid])

        screen.keys("/", "s", "l", "e", "e", "p", "Enter")
        _wait_for_rows(screen, "filter 'sleep'", pids, [sleeper.pid])
        screen.keys("/", "Escape")  # typing Escape keeps the filter
        screen.keys("/", "BSpace", "Enter")
        screen.wait_for("filter cleared")
        screen.keys("/", "u", "s", "e", "r", ":", "nobody", "Enter")
        screen.wait_for("no GPU processes match the filter")
        screen.keys("/", "Enter")
        screen.wait_for("filter cleared")

        # The selection follows the process (the sleeper, first by memory); move to the trainer.
        assert any("›" in line for line in screen.lines_with(f" {sleeper.pid} "))
        screen.keys("Up")
        wait_until(lambda: any("›" in line for line in screen.lines_with(f" {trainer.pid} ")))
        screen.keys("Enter")
        screen.wait_for(
            f"impact: PID {trainer.pid}",
            "Work lost if killed",
            "Next checkpoint: ",
            "Last checkpoint:",
            "ckpt_epoch",
        )

        screen.keys("K")
        screen.wait_for(f"kill PID {trainer.pid} (python")
        screen.keys("n")
        screen.wait_for("kill cancelled")
        assert trainer.proc.poll() is None
        screen.keys("K", "y")
        screen.wait_for("sent SIGKILL to")
        assert trainer.proc.wait(timeout=10) == -9
        assert sleeper.poll() is None
        screen.keys("q")
        screen.wait_for("MONITOR-EXITED-0")
    finally:
        sleeper.kill()
        sleeper.wait()


def test_actions_have_the_guards_of_impact(
    monitor: Callable[[dict[str, str]], Screen], tmp_path: Path
) -> None:
    """An action on nexus's own ancestor (the tmux shell running it) is refused on screen."""
    env = write_fake_nvml(tmp_path / "nvml.json", [make_gpu("0")], {"0": []})
    env["PYTHONPATH"] = str(REPO_ROOT)
    screen = monitor(env)
    nexus = next(
        p
        for p in psutil.process_iter(["cmdline"])
        if "nexus_cli gpu monitor" in " ".join(p.info["cmdline"] or [])
        and env["NEXUS_NVML_FAKE"] in " ".join(p.environ().values())
    )
    shell = nexus.parent()  # the tmux pane's shell: an ancestor of nexus
    assert shell is not None
    write_fake_nvml(
        tmp_path / "nvml.json",
        [make_gpu("0")],
        {"0": [GpuProcessReading(shell.pid, "0", GIB, ["compute"])]},
    )
    # the shell's row, selected ("›"): its pid alone may match elsewhere (350 is the fake
    # GPU's power draw)
    wait_until(lambda: any("›" in line for line in screen.lines_with(f" {shell.pid} ")))
    screen.keys("p", "y")
    screen.wait_for(f"refused to signal PID {shell.pid}: it is an ancestor of this nexus process")
    assert shell.status() != psutil.STATUS_STOPPED
    screen.keys("q")
    screen.wait_for("MONITOR-EXITED-0")


def test_piped_monitor_prints_plain_frames(tmp_path: Path) -> None:
    env = write_fake_nvml(tmp_path / "nvml.json", [make_gpu("0")], {"0": []})
    out = subprocess.run(
        [sys.executable, "-m", "nexus_cli", "gpu", "monitor", "--once"],
        env={**os.environ, **env, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0 and "\x1b[" not in out.stdout
    assert out.stdout.startswith("GPUs\n") and "NVIDIA H100" in out.stdout
    as_json = subprocess.run(
        [sys.executable, "-m", "nexus_cli", "gpu", "monitor", "--once", "--json"],
        env={**os.environ, **env, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    frame = __import__("json").loads(as_json.stdout)
    assert frame["devices"][0]["name"] == "NVIDIA H100 80GB HBM3" and frame["processes"] == []
