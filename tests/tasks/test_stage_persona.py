"""A workflow stage task's persona: read from its labels, checked, and switched in its workspace."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexus_cli.errors import ConfigError
from nexus_cli.project import find_project
from nexus_cli.tasks.model import Task
from nexus_cli.tasks.stage_persona import stage_persona, switch_for


def test_only_a_stage_task_asks_for_a_persona() -> None:
    assert stage_persona(Task(id="nx-abcd", title="t", labels=["persona:backend"])) is None
    stage = Task(id="nx-abcd", title="t", labels=["stage:build", "persona:backend"])
    assert stage_persona(stage) == "backend"


def test_a_forged_persona_label_is_refused(tasks_project: Path) -> None:
    task = Task(id="nx-abcd", title="t", workspace="rel", labels=["stage:x", "persona:../../etc"])
    with pytest.raises(ConfigError, match="invalid persona name"):
        switch_for(find_project(tasks_project), task)
