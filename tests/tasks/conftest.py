"""Fixtures for task tests: an initialised project with a fixed agent name, and CLI helpers."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from nexus_cli import paths
from nexus_cli.project import find_project
from nexus_cli.tasks import actions, approvals
from nexus_cli.tasks.gates import GateResult
from nexus_cli.tasks.model import Gate
from tests.conftest import Result, fold_telemetry, git, run_nexus


@pytest.fixture
def tasks_project(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NEXUS_AGENT", "alice")
    return project


def ok(*args: str) -> Result:
    result = run_nexus(*args)
    assert result.exit_code == 0, result.stderr
    return result


def new_task(title: str, *args: str) -> str:
    """Create a task and return its ID (``--no-gates`` unless a gate is given: the test project
    has no detected test command)."""
    if not any(a.startswith("--gate") or a == "--no-gates" for a in args):
        args = (*args, "--no-gates")
    return str(ok("task", "create", title, "--json", *args).json()["id"])


def show(task_id: str) -> dict[str, Any]:
    data: dict[str, Any] = ok("task", "show", task_id, "--json").json()
    return data


def last_event(command: str) -> dict[str, Any]:
    """The newest telemetry event row of ``command`` (e.g. ``task complete``), raw_data parsed."""
    fold_telemetry()
    conn = sqlite3.connect(paths.telemetry_db_path())
    conn.row_factory = sqlite3.Row
    sql = "SELECT * FROM events WHERE command = ? ORDER BY id DESC LIMIT 1"
    row = dict(conn.execute(sql, (command,)).fetchone())
    conn.close()
    row["raw"] = json.loads(row["raw_data"] or "{}")
    return row


def gate_fields(result: GateResult) -> dict[str, object]:
    """A gate result's dict without the gate's own command and service (what the run reports)."""
    data = result.to_dict()
    del data["command"], data["service"]
    return data


def approve_as_person(task_id: str) -> None:
    """What a person's `nexus task gate approve ID` at a terminal records, for a task a test
    wrote into tasks.jsonl by hand (tests/mcp/test_gate_approval.py approves at a real one)."""
    task = next(t for t in json.loads(ok("task", "list", "--json").stdout) if t["id"] == task_id)
    gates = [Gate.from_dict(g) for g in task["gates"]]
    approvals.approve(find_project(), task_id, gates, how="terminal")


def approve_review(task_id: str) -> None:
    """What `nexus task approve ID` records for a task in review once the person answered y at
    the terminal (the terminal itself: test_review.py)."""
    actions.change(find_project(), task_id, "approve", env={})


def approve_all(root: Path, task_id: str) -> None:
    """Approve every gate of the task as creating it on the command line does (the approvals
    wiring approves CLI-created gates by itself; this keeps tests independent of it)."""
    project = find_project(root)
    gates = [Gate.from_dict(g) for g in show(task_id)["gates"]]
    approvals.approve(project, task_id, gates, how="created")


def close_task(root: Path, title: str, *gates: str) -> str:
    """A task with ``gates`` (approved), started and completed: its id."""
    args = [a for gate in gates for a in ("--gate", gate)]
    task_id = new_task(title, *args)
    approve_all(root, task_id)
    ok("task", "start", task_id)
    ok("task", "complete", task_id)
    return task_id


def commit_all(root: Path, message: str) -> str:
    """Commit everything in the worktree (.nexus/tasks.jsonl included); the new commit id."""
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD").strip()


def task_line(root: Path, task_id: str) -> dict[str, Any]:
    for line in (root / ".nexus" / "tasks.jsonl").read_text().splitlines():
        data: dict[str, Any] = json.loads(line)
        if data["id"] == task_id:
            return data
    raise AssertionError(f"{task_id} is not in tasks.jsonl")


def edit_task_line(root: Path, task_id: str, change: Any) -> None:
    """Rewrite the task's line of tasks.jsonl by hand, as a person or an agent with a shell can:
    ``change`` gets the parsed line and edits it in place."""
    path = root / ".nexus" / "tasks.jsonl"
    lines = []
    for line in path.read_text().splitlines():
        data = json.loads(line)
        if data["id"] == task_id:
            change(data)
            line = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        lines.append(line)
    path.write_text("\n".join(lines) + "\n")


def gate_receipts(root: Path, task_id: str) -> list[dict[str, Any]]:
    """The receipts in the task's gate_run history entries, oldest first."""
    history = task_line(root, task_id)["history"]
    return [h["receipt"] for h in history if h["action"] == "gate_run" and "receipt" in h]
