"""Leases: a claim records its owner, a heartbeat and an expiry; an expired one can be reclaimed;
a task whose dependencies are not done cannot be claimed; the merge driver keeps leases right."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from nexus_cli import owner, ownership
from nexus_cli.tasks import lease
from nexus_cli.tasks.merge import merge_task
from nexus_cli.tasks.model import Task
from tests.conftest import run_nexus
from tests.tasks.conftest import edit_task_line, new_task, ok, show, task_line


def _wait_expired(task_id: str, limit_s: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        task = show(task_id)
        if lease.expired(Task.from_dict(task)):
            return task
        time.sleep(0.05)
    raise AssertionError(f"the lease of {task_id} did not expire")


def test_claim_records_a_lease_with_owner_and_expiry(tasks_project: Path) -> None:
    task_id = new_task("Leased")
    before = datetime.now(UTC)
    ok("task", "claim", task_id, "--lease", "120")
    held = show(task_id)["lease"]
    assert owner.parse(held["owner"]) is not None
    assert held["length_s"] == 120
    expires = datetime.strptime(held["expires"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert before + timedelta(seconds=119) < expires < datetime.now(UTC) + timedelta(seconds=121)
    assert task_line(tasks_project, task_id)["lease"] == held


def test_a_task_without_a_lease_keeps_its_line(tasks_project: Path) -> None:
    task_id = new_task("Open")
    assert "lease" not in task_line(tasks_project, task_id)


def test_reclaim_refuses_a_live_lease_and_takes_back_an_expired_one(tasks_project: Path) -> None:
    task_id = new_task("Abandoned")
    ok("task", "claim", task_id, "--lease", "1", "--agent", "crashed")
    early = run_nexus("task", "reclaim", task_id, "--agent", "bob")
    if not lease.expired(Task.from_dict(show(task_id))):  # the second may have passed already
        assert early.exit_code != 0 and "runs until" in early.stderr, early.stderr
        _wait_expired(task_id)
        ok("task", "reclaim", task_id, "--agent", "bob")
    task = show(task_id)
    assert task["status"] == "open" and task["assignee"] is None and "lease" not in task
    entry = [h for h in task["history"] if h["action"] == "reclaimed"][-1]
    assert entry["previous"] == "crashed" and entry["by"] == "bob"
    ok("task", "claim", task_id, "--agent", "bob")
    assert show(task_id)["assignee"] == "bob"


def test_reclaim_of_an_unleased_task_is_one_line(tasks_project: Path) -> None:
    task_id = new_task("Never claimed")
    result = run_nexus("task", "reclaim", task_id)
    assert result.exit_code != 0
    assert "nothing to reclaim" in result.stderr and "Traceback" not in result.stderr


def test_claim_refuses_unfinished_dependencies(tasks_project: Path) -> None:
    first = new_task("First")
    second = new_task("Second", "--depends-on", first)
    result = run_nexus("task", "claim", second)
    assert result.exit_code != 0
    assert f"depends on {first}, not done yet" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert show(second)["status"] == "open"
    ok("task", "cancel", first, "--reason", "not needed")
    ok("task", "claim", second)
    assert show(second)["status"] == "in_progress"


def test_leaving_in_progress_drops_the_lease(tasks_project: Path) -> None:
    task_id = new_task("Given back")
    ok("task", "claim", task_id)
    ok("task", "reopen", task_id)
    assert "lease" not in show(task_id)


@pytest.mark.parametrize(
    "bad",
    [
        "not an object",
        {"owner": {}, "heartbeat": "x", "expires": "x", "length_s": 5},
        {"owner": {"host": "h", "pid": 1, "start": "", "token": "t"}, "heartbeat": "x"},
    ],
)
def test_a_malformed_lease_in_tasks_jsonl_is_one_line(tasks_project: Path, bad: object) -> None:
    task_id = new_task("Tampered")
    edit_task_line(tasks_project, task_id, lambda data: data.update(lease=bad))
    result = run_nexus("task", "show", task_id)
    assert "lease" in result.stderr and "Traceback" not in result.stderr


def _task(status: str, updated: str, held: dict[str, Any] | None) -> Task:
    return Task(id="nx-ab12", title="t", status=status, updated_at=updated, lease=held)


def test_merge_driver_takes_the_lease_with_the_status_that_wins() -> None:
    mine = lease.new(ownership.new(), 60)
    base = _task("open", "2020-01-01T00:00:00.000000Z", None)
    claimed = _task("in_progress", _later(1), mine)
    released = _task("open", _later(2), None)
    assert merge_task(base, claimed, base).lease == mine
    assert merge_task(base, base, claimed).lease == mine
    # Claimed on one side, given back later on the other: open, and no lease left behind.
    after_claim = _task("in_progress", _later(1), mine)
    assert merge_task(after_claim, after_claim, released).lease is None
    beaten = {**mine, "heartbeat": _later(5), "expires": _later(65)}
    merged = merge_task(after_claim, _task("in_progress", _later(1), beaten), after_claim)
    assert merged.lease == beaten


def _later(seconds: int) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
