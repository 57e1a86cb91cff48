"""Claims are atomic: of 20 processes claiming one task at once, exactly one wins."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import nexus_exe
from tests.tasks.conftest import new_task, ok, show


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
    from tests.conftest import run_nexus

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
