"""Claims are atomic: of 20 processes claiming one task at once, exactly one wins."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import nexus_exe, run_nexus
from tests.tasks.conftest import new_task, ok, show
from tests.tasks.test_lease import _wait_expired


@pytest.mark.slow
def test_twenty_processes_claim_once(tasks_project: Path) -> None:
    task_id = new_task("Contended")
    procs = [
        subprocess.Popen(
            [*nexus_exe(), "task", "claim", task_id, "--agent", f"agent-{i}"],
            cwd=tasks_project,
            env=os.environ.copy(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(20)
    ]
    outcomes = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    winners = [i for i, (code, _, _) in enumerate(outcomes) if code == 0]
    assert len(winners) == 1, outcomes
    for code, _, err in outcomes:
        if code != 0:
            assert code == 1 and "cannot be claimed" in err, err
            assert "Traceback" not in err
    task = show(task_id)
    assert task["assignee"] == f"agent-{winners[0]}"
    assert task["status"] == "in_progress"
    claims = [h for h in task["history"] if h.get("to") == "in_progress"]
    assert len(claims) == 1
    assert len(ok("task", "list", "--json").json()) == 1


def test_claim_refuses_a_task_someone_else_holds(tasks_project: Path) -> None:
    task_id = new_task("Mine")
    ok("task", "claim", task_id, "--agent", "bob")
    result = run_nexus("task", "claim", task_id, "--agent", "carol")
    assert result.exit_code == 1
    assert "claimed by bob" in result.stderr
    assert show(task_id)["assignee"] == "bob"
    again = run_nexus("task", "claim", task_id, "--agent", "bob")
    assert again.exit_code == 1 and "it is in_progress, and already yours (bob)" in again.stderr


@pytest.mark.slow
def test_concurrent_writers_lose_nothing(tasks_project: Path) -> None:
    import json

    procs = [
        subprocess.Popen(
            [*nexus_exe(), "task", "create", f"Parallel {i}", "--no-gates"],
            cwd=tasks_project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(8)
    ]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    lines = (tasks_project / ".nexus" / "tasks.jsonl").read_text().splitlines()
    assert sorted(json.loads(x)["title"] for x in lines) == [f"Parallel {i}" for i in range(8)]
    assert len(ok("task", "list", "--json").json()) == 8


def test_complete_and_start_refuse_a_task_another_holds(tasks_project: Path) -> None:
    """With many agents at once, one must not complete (or start) the task another claimed:
    the refusal names the holder, runs no gate and leaves the task as it was; the holder, or
    whoever a person hands the task to, completes it."""
    task_id = new_task("Bob's", "--gate", "touch gate-ran")
    ok("task", "claim", task_id, "--agent", "bob")
    for action in ("complete", "start"):
        refused = run_nexus("task", action, task_id, env={"NEXUS_AGENT": "carol"})
        assert refused.exit_code == 1, refused.stderr
        assert f"task {task_id} is assigned to bob, not carol: only they can {action} it" in (
            refused.stderr
        )
        assert f"nexus task assign {task_id} carol" in refused.stderr
        assert "Traceback" not in refused.stderr
    assert not (tasks_project / "gate-ran").exists()
    task = show(task_id)
    assert (task["status"], task["assignee"]) == ("in_progress", "bob")
    assert [h for h in task["history"] if h["action"] == "gate_run"] == []

    ok("task", "assign", task_id, "carol")
    done = run_nexus("task", "complete", task_id, env={"NEXUS_AGENT": "carol"})
    assert done.exit_code == 0, done.stderr
    assert show(task_id)["status"] == "done"
    assert (tasks_project / "gate-ran").exists()


def test_a_lapsed_claim_points_to_reclaim(tasks_project: Path) -> None:
    task_id = new_task("Abandoned")
    ok("task", "claim", task_id, "--lease", "1", "--agent", "crashed")
    _wait_expired(task_id)
    refused = run_nexus("task", "complete", task_id, env={"NEXUS_AGENT": "bob"})
    assert refused.exit_code == 1
    assert f"its lease has expired: `nexus task reclaim {task_id}`" in refused.stderr
