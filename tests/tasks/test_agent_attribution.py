"""Which task an agent's usage belongs to: real projects, real worktrees, real task histories."""

from __future__ import annotations

import time
from pathlib import Path

from nexus_cli.tasks.agent_attribution import Attributor, claim_windows
from nexus_cli.tasks.model import Task
from nexus_cli.telemetry.agents.records import Hasher
from tests.conftest import git
from tests.tasks.conftest import new_task, ok, show


def _now_ms() -> int:
    return int(time.time() * 1000)


def test_the_main_checkout_attributes_only_one_claimed_task(tasks_project: Path) -> None:
    first = new_task("First")
    ok("task", "claim", first)
    attribute = Attributor(Hasher()).attribute
    task, project = attribute(str(tasks_project), _now_ms())
    assert task == first and project is not None
    second = new_task("Second")
    ok("task", "claim", second)
    assert Attributor(Hasher()).attribute(str(tasks_project / "sub"), _now_ms())[0] is None
    assert Attributor(Hasher()).attribute(str(tasks_project), _now_ms())[0] is None  # two: no guess


def test_a_task_named_by_the_agent_wins_and_a_cancelled_claim_ends(tasks_project: Path) -> None:
    task = new_task("Released", "--workspace", "ws2")
    worktree = tasks_project / ".nexus" / "worktrees" / "ws2"
    git(tasks_project, "worktree", "add", "-q", "-b", "ws2", str(worktree))
    ok("task", "claim", task)
    during = _now_ms()
    ok("task", "cancel", task, "--reason", "dropped")
    windows = claim_windows(_task(task))
    assert len(windows) == 1 and windows[0][1] is not None
    attributor = Attributor(Hasher())
    assert attributor.attribute(str(worktree), during)[0] == task
    assert attributor.attribute(str(worktree), windows[0][1] + 60_000)[0] is None
    assert attributor.attribute(str(worktree), during, "nx-named1")[0] == "nx-named1"
    assert attributor.attribute("/no/such/folder", during) == (None, None)


def _task(task_id: str) -> Task:
    return Task.from_dict(show(task_id))
