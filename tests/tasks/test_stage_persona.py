"""A workflow stage task's persona: read from its labels, checked, and switched in its workspace."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexus_cli.errors import ConfigError
from nexus_cli.project import find_project
from nexus_cli.tasks.model import Task
from nexus_cli.tasks.stage_persona import stage_persona, switch_for
from tests.conftest import run_nexus
from tests.tasks.conftest import new_task, ok, show


def test_only_a_stage_task_asks_for_a_persona() -> None:
    assert stage_persona(Task(id="nx-abcd", title="t", labels=["persona:backend"])) is None
    stage = Task(id="nx-abcd", title="t", labels=["stage:build", "persona:backend"])
    assert stage_persona(stage) == "backend"


def test_a_forged_persona_label_is_refused(tasks_project: Path) -> None:
    task = Task(id="nx-abcd", title="t", workspace="rel", labels=["stage:x", "persona:../../etc"])
    with pytest.raises(ConfigError, match="invalid persona name"):
        switch_for(find_project(tasks_project), task)


def test_a_stage_persona_that_cannot_be_switched_to_refuses_the_start_with_nothing_changed(
    tasks_project: Path,
) -> None:
    """The persona is found (and its files checked) before the task moves: a start that fails
    on it leaves the task open, to be started again once it is fixed."""
    assert run_nexus("workspace", "create", "w1", "-t", "bare").exit_code == 0
    task_id = new_task(
        "Build", "--gate", "true", "--workspace", "w1", "--label", "stage:build",
        "--label", "persona:nosuchpersona",
    )  # fmt: skip
    started = run_nexus("task", "start", task_id)
    assert started.exit_code != 0 and "nosuchpersona" in started.stderr
    assert "Traceback" not in started.stderr
    assert show(task_id)["status"] == "open"
    assert not [h for h in show(task_id)["history"] if h["action"] == "transition"]
    ok("task", "edit", task_id, "--remove-label", "persona:nosuchpersona")
    ok("task", "edit", task_id, "--add-label", "persona:backend")
    assert ok("task", "start", task_id).exit_code == 0
    assert show(task_id)["status"] == "in_progress"
    lock = tasks_project / ".nexus" / "worktrees" / "w1" / ".nexus" / "personas.lock"
    assert "backend" in lock.read_text()


def test_a_task_naming_a_workspace_that_does_not_exist_says_where_its_gates_run(
    tasks_project: Path,
) -> None:
    assert run_nexus("workspace", "create", "frontend", "-t", "bare").exit_code == 0
    typo = run_nexus("task", "create", "Typo", "--gate", "true", "--workspace", "frontnd")
    assert typo.exit_code == 0
    assert "workspace 'frontnd' does not exist (yet)" in typo.stderr
    assert "gates run in the project root; did you mean 'frontend'?" in typo.stderr
    there = run_nexus("task", "create", "There", "--gate", "true", "--workspace", "frontend")
    assert there.exit_code == 0 and "does not exist" not in there.stderr
