"""Issue 24: who chose a gate is in the task's history (``via``): typed, detected, proposed by an
agent, from a workflow, imported; what may run is in the user's approvals, outside the repository.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nexus_cli.caller import Caller
from nexus_cli.project import find_project
from nexus_cli.tasks import actions
from tests.conftest import git, run_nexus, run_process
from tests.tasks.conftest import new_task, ok, show


def _entries(task_id: str, action: str) -> list[dict[str, Any]]:
    return [h for h in show(task_id)["history"] if h["action"] == action]


def _gate_list(task_id: str) -> list[dict[str, Any]]:
    gates: list[dict[str, Any]] = ok("task", "gate", "list", task_id, "--json").json()["gates"]
    return gates


def test_cli_gates_are_approved_by_creating_the_task_and_complete_without_a_prompt(
    tasks_project: Path,
) -> None:
    task_id = new_task("Typed here", "--gate", "touch ran")
    assert _entries(task_id, "created")[0]["via"] == "cli"
    [gate] = _gate_list(task_id)
    assert gate["approved"] and gate["approval"]["how"] == "created"
    ok("task", "start", task_id)
    ok("task", "complete", task_id)
    assert (tasks_project / "ran").exists() and show(task_id)["status"] == "done"


def test_detected_gates_are_approved_and_say_so(tasks_project: Path) -> None:
    (tasks_project / "Makefile").write_text("test:\n\ttrue\n")
    task_id = str(ok("task", "create", "Detected", "--json").json()["id"])
    assert _entries(task_id, "created")[0]["via"] == "detected"
    [gate] = _gate_list(task_id)
    assert gate["command"] == "make test" and gate["approval"]["how"] == "detected"


def test_a_pulled_gate_change_waits_and_runs_nothing(tasks_project: Path, tmp_path: Path) -> None:
    """A teammate's clone changes a gate and commits it; `git pull` brings it here."""
    task_id = new_task("Shared", "--gate", "false")
    ok("task", "start", task_id)
    git(tasks_project, "add", "-A")
    git(tasks_project, "commit", "-qm", "a task")
    mate = tmp_path / "teammate"
    git(tmp_path, "clone", "-q", str(tasks_project), str(mate))
    jsonl = mate / ".nexus" / "tasks.jsonl"
    jsonl.write_text(jsonl.read_text().replace('"command":"false"', '"command":"touch ran"'))
    git(mate, "commit", "-qam", "an easier gate")
    git(tasks_project, "-c", "pull.rebase=false", "pull", "-q", "--no-edit", str(mate), "main")

    result = run_process("task", "complete", task_id, cwd=tasks_project)
    assert result.returncode == 5, result.stderr
    assert "nexus task gate approve" in result.stderr and "Traceback" not in result.stderr
    assert not (tasks_project / "ran").exists()
    [change] = _entries(task_id, "gates_changed")
    assert change["via"] == "import" and change["from"] == ["false"]
    assert change["to"] == ["touch ran"]
    assert show(task_id)["status"] == "in_progress"


def test_an_agent_proposed_gate_waits_and_says_who_proposed_it(tasks_project: Path) -> None:
    created = actions.create(find_project(), "From MCP", gates=["touch ran"], caller=Caller.AGENT)
    task_id = created.task.id
    assert _entries(task_id, "created")[0]["via"] == "agent"
    assert not _gate_list(task_id)[0]["approved"]
    assert run_nexus("task", "complete", task_id).exit_code == 5
    assert not (tasks_project / "ran").exists()


def test_workflow_gates_wait_for_approval(tasks_project: Path) -> None:
    (tasks_project / "Makefile").write_text("test:\n\ttrue\n")
    (tasks_project / "CHANGELOG.md").write_text("# Changelog\n")
    result = run_nexus("workflow", "run", "package-release", "--var", "version=1.0", "--json")
    assert result.exit_code == 0, result.stderr
    assert "nexus task gate approve --all" in result.stderr
    first = result.json()[0]["id"]
    assert _entries(first, "created")[0]["via"] == "workflow"
    assert not any(g["approved"] for g in _gate_list(first))


def test_an_edit_that_swaps_the_gates_for_no_gates_waits_too(tasks_project: Path) -> None:
    task_id = new_task("Guarded", "--gate", "false")
    ok("task", "start", task_id)
    jsonl = tasks_project / ".nexus" / "tasks.jsonl"
    line = json.loads(jsonl.read_text())
    line.update(gates=[], no_gates=True)
    jsonl.write_text(json.dumps(line) + "\n")
    result = run_nexus("task", "complete", task_id)
    assert result.exit_code == 5, result.stderr
    assert "no gates: the task completes without running any check" in result.stderr
    assert show(task_id)["status"] == "in_progress"
    [change] = _entries(task_id, "gates_changed")
    assert change["from"] == ["false"] and change["to"] == []
    typed = new_task("Typed without gates")  # a person's --no-gates: approved by that act
    ok("task", "start", typed)
    ok("task", "complete", typed)
