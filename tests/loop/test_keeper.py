"""The loop holds its task under a lease it keeps beating; a SIGKILLed loop's lease expires and
the next loop reclaims the task and finishes it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from nexus_cli.tasks import lease
from nexus_cli.tasks.model import Task
from tests.conftest import nexus_exe, run_process
from tests.loop.conftest import AGENT, GATE
from tests.tasks.conftest import new_task, show


def _poll(what: str, check: Any, limit_s: float = 60) -> Any:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _agent_pid(agent_log: Path) -> int | None:
    path = agent_log / "agent.pid"
    text = path.read_text().strip() if path.is_file() else ""
    return int(text) if text.isdigit() else None


def _end(pid: int) -> None:
    """End the agent's process group: the agent runs in the session its loop started (led by
    the shell that runs it, so the agent's own pid is not the group's)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(os.getpgid(pid), signal.SIGKILL)


def test_a_killed_loops_task_is_reclaimed_and_finished(loop_project: Path, agent_log: Path) -> None:
    task_id = new_task("Crashes midway", "--gate", GATE)
    proc = subprocess.Popen(
        [*nexus_exe(), "loop", "--agent", AGENT, "--lease", "2"],
        cwd=loop_project,
        env={**os.environ, "SCRIPTED_AGENT_SLEEP": "600", "NEXUS_AGENT": "crashed"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    agent = None
    try:
        agent = _poll("the agent to start", lambda: _agent_pid(agent_log))
        held = show(task_id)
        assert held["assignee"] == "crashed" and held["lease"]["owner"]["pid"] == proc.pid
        # The lease is renewed while the loop works: the expiry moves past the first one.
        first = held["lease"]["expires"]
        _poll("a heartbeat", lambda: show(task_id)["lease"]["expires"] > first)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if agent is not None:
            _end(agent)
    assert show(task_id)["status"] == "in_progress"
    _poll("the lease to expire", lambda: lease.expired(Task.from_dict(show(task_id))))
    (agent_log / "agent.pid").unlink()
    done = run_process("loop", "--agent", AGENT, cwd=loop_project, env={"NEXUS_AGENT": "bob"})
    assert done.returncode == 0, done.stderr
    task = show(task_id)
    assert task["status"] == "done" and task["assignee"] == "bob"
    reclaimed = [h for h in task["history"] if h["action"] == "reclaimed"]
    assert len(reclaimed) == 1 and reclaimed[0]["previous"] == "crashed"
    assert "lease" not in task


def test_a_live_lease_is_not_reclaimed(loop_project: Path, agent_log: Path) -> None:
    task_id = new_task("Held", "--gate", GATE)
    run_process(
        "task", "claim", task_id, "--lease", "600", cwd=loop_project, env={"NEXUS_AGENT": "carol"}
    )
    result = run_process("loop", "--agent", AGENT, cwd=loop_project, env={"NEXUS_AGENT": "bob"})
    assert result.returncode == 0 and "nothing is ready" in result.stderr, result.stderr
    task = show(task_id)
    assert task["assignee"] == "carol" and not any(
        h["action"] == "reclaimed" for h in task["history"]
    )
