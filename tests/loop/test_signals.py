"""SIGTERM and Ctrl-C stop `nexus loop` cleanly: the agent's process group dies, the task stays."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import nexus_exe
from tests.loop.conftest import AGENT, GATE
from tests.tasks.conftest import new_task, show


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its new parent to reap it counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


@pytest.mark.parametrize(
    ("sig", "code", "name"),
    [
        (signal.SIGTERM, 143, "SIGTERM"),
        (signal.SIGINT, 130, "SIGINT"),
        (signal.SIGHUP, 129, "SIGHUP"),
    ],
)
def test_signal_stops_agent_group_and_keeps_the_claim(
    loop_project: Path, agent_log: Path, sig: int, code: int, name: str
) -> None:
    task_id = new_task("Slow agent", "--gate", GATE)
    env = {**os.environ, "SCRIPTED_AGENT_SLEEP": "60"}
    proc = subprocess.Popen(
        [*nexus_exe(), "loop", "--agent", AGENT],
        cwd=loop_project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    pid_file = agent_log / "agent.pid"
    deadline = time.monotonic() + 30
    # The agent writes its pid (not atomically): wait until the whole number is there.
    while time.monotonic() < deadline:
        text = pid_file.read_text().strip() if pid_file.is_file() else ""
        if text.isdigit():
            break
        time.sleep(0.05)
    agent_pid = int(pid_file.read_text().strip())
    started = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == code, err
    assert time.monotonic() - started < 10
    assert not _alive(agent_pid)
    assert "Traceback" not in err and "interrupted" in err
    task = show(task_id)
    assert task["status"] == "in_progress" and task["assignee"] == "alice"
    assert name in task["notes"][-1]["text"]
