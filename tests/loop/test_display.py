"""On a real terminal (tmux) each iteration is one line, rewritten in place while the agent runs."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import nexus_exe
from tests.loop.conftest import AGENT, GATE
from tests.tasks.conftest import new_task


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_live_one_line_per_iteration(loop_project: Path, agent_log: Path, tmp_path: Path) -> None:
    task_id = new_task("On a terminal", "--gate", GATE)
    socket = f"nexus-loop-{uuid.uuid4().hex[:8]}"
    done = tmp_path / "done"
    command = " ".join(shlex.quote(x) for x in [*nexus_exe(), "loop", "--agent", AGENT])
    env = " ".join(
        f"{k}={shlex.quote(v)}"
        for k, v in os.environ.items()
        if k.startswith(("NEXUS_", "SCRIPTED_", "HOME", "XDG_", "GIT_", "PYTHON", "PATH"))
    )
    script = f"cd {shlex.quote(str(loop_project))} && env {env} {command}; touch {done}; sleep 30"
    tmux = ["tmux", "-L", socket]
    subprocess.run([*tmux, "new-session", "-d", "-x", "160", "-y", "40", script], check=True)
    try:
        deadline = time.monotonic() + 60
        while not done.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        pane = subprocess.run(
            [*tmux, "capture-pane", "-p"], capture_output=True, text=True, check=True
        ).stdout
    finally:
        subprocess.run([*tmux, "kill-server"], check=False)
    lines = [line for line in pane.splitlines() if line.startswith(f"{task_id} #")]
    assert len(lines) == 2, pane
    assert "agent exit 0" in lines[0] and "gates 0/1 passed  -> in_progress" in lines[0]
    assert "gates 1/1 passed  -> done" in lines[1]
    assert "running agent" not in pane  # rewritten in place
