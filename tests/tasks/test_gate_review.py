"""Issue 24: `nexus task gate list|approve`, and what cannot approve (a pipe, the environment,
an agent); a trust rule in the user's configuration; `nexus prime` says how approval works.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from nexus_cli.caller import Caller
from nexus_cli.project import find_project
from nexus_cli.tasks import actions
from tests.conftest import run_nexus, run_process
from tests.tasks.conftest import new_task, ok, show


def _entries(task_id: str, action: str) -> list[dict[str, Any]]:
    return [h for h in show(task_id)["history"] if h["action"] == action]


def _gate_list(task_id: str) -> list[dict[str, Any]]:
    gates: list[dict[str, Any]] = ok("task", "gate", "list", task_id, "--json").json()["gates"]
    return gates


def test_a_gate_added_without_a_terminal_waits_and_nothing_runs(tasks_project: Path) -> None:
    task_id = new_task("Later gate", "--gate", "true")
    added = run_nexus("task", "gate", "add", task_id, "touch ran")
    assert added.exit_code == 0 and "waits for a person's approval" in added.stderr
    assert _entries(task_id, "gate_added")[0]["via"] == "cli"
    assert [g["approved"] for g in _gate_list(task_id)] == [True, False]
    text = ok("task", "gate", "list", task_id).stdout
    assert "needs approval" in text and "approved (created" in text
    ok("task", "start", task_id)
    for command in ("verify", "complete"):
        result = run_nexus("task", command, task_id)
        assert result.exit_code == 5, result.stderr
        assert result.stderr.splitlines() == [
            f"error: task {task_id}: nothing ran; its gate `touch ran` waits for a person's "
            "approval",
            f"hint: a person must approve it: nexus task gate approve {task_id}",
        ]
    assert not (tasks_project / "ran").exists()
    assert show(task_id)["status"] == "in_progress" and not _entries(task_id, "gate_run")


@pytest.mark.usefixtures("answering_terminal")
def test_a_gate_added_at_a_terminal_is_approved(tasks_project: Path) -> None:
    task_id = new_task("Later gate", "--gate", "true")
    ok("task", "gate", "add", task_id, "touch ran")
    assert _gate_list(task_id)[1]["approval"]["how"] == "gate-add"
    ok("task", "start", task_id)
    ok("task", "complete", task_id)
    assert (tasks_project / "ran").exists()


def test_a_pipe_or_the_environment_cannot_approve(tasks_project: Path) -> None:
    created = actions.create(find_project(), "From MCP", gates=["touch ran"], caller=Caller.AGENT)
    task_id = created.task.id
    env = {
        "NEXUS_YES": "1",
        "NEXUS_APPROVE": "1",
        "NEXUS_ASSUME_YES": "1",
        "NEXUS_NONINTERACTIVE": "1",
        "CI": "1",
    }
    for args in (("approve", task_id), ("approve", "--all")):
        result = run_process(
            "task", "gate", *args, cwd=tasks_project, env=env, input="y\nyes\n", new_session=True
        )
        assert result.returncode == 4, result.stderr
        assert "needs a person at a terminal" in result.stderr
    refused = run_nexus("task", "gate", "approve", task_id, "--yes")
    assert refused.exit_code == 2  # there is no such flag
    assert not _gate_list(task_id)[0]["approved"]
    assert run_nexus("task", "complete", task_id).exit_code == 5


def test_approve_with_nothing_waiting_needs_no_terminal(tasks_project: Path) -> None:
    task_id = new_task("Typed", "--gate", "true")
    for args in ((task_id,), ("--all",)):
        result = run_nexus("task", "gate", "approve", *args)
        assert result.exit_code == 0 and "no gate waits for approval" in result.stderr
    assert run_nexus("task", "gate", "approve").exit_code == 2
    assert run_nexus("task", "gate", "approve", task_id, "--all").exit_code == 2


def test_a_trust_rule_lets_a_plain_agent_gate_run_but_not_a_shell_trick(
    tasks_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "pytest"
    fake.write_text("#!/bin/sh\ntouch pytest-ran\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    config = tmp_path / "config"
    config.mkdir()
    (config / "trust.yaml").write_text("rules:\n  - project: '*'\n    commands: ['pytest *']\n")
    monkeypatch.setenv("NEXUS_CONFIG_HOME", str(config))
    where = find_project()
    plain = actions.create(where, "Plain", gates=["pytest -q"], caller=Caller.AGENT).task.id
    trick = actions.create(where, "Trick", gates=["pytest; touch x"], caller=Caller.AGENT).task.id
    assert _gate_list(plain)[0]["approval"]["how"] == "rule"
    ok("task", "start", plain)
    ok("task", "complete", plain)
    assert (tasks_project / "pytest-ran").exists()
    (tasks_project / "pytest-ran").unlink()
    ok("task", "start", trick)
    assert run_nexus("task", "complete", trick).exit_code == 5
    assert not (tasks_project / "x").exists() and not (tasks_project / "pytest-ran").exists()


def test_prime_says_how_approval_works_and_lists_waiting_tasks(tasks_project: Path) -> None:
    created = actions.create(find_project(), "From MCP", gates=["touch ran"], caller=Caller.AGENT)
    data = ok("prime", "--json").json()
    [waiting] = data["needs_approval"]
    assert waiting["id"] == created.task.id and waiting["commands"] == ["touch ran"]
    assert not any(created.task.id in command for command in data["next_commands"])
    text = ok("prime").stdout
    assert "nexus task gate approve ID" in text and "Waiting for a person's approval" in text
