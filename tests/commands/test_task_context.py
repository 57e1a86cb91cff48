"""`nexus task context` (commands/task_context.py): the hand-off, escaped for the terminal."""

from __future__ import annotations

from pathlib import Path

from tests.tasks.conftest import new_task, ok


def test_context_prints_the_goal_with_controls_shown(project: Path) -> None:
    task_id = new_task("Ship \x1b[2J it")
    out = ok("task", "context", task_id).stdout
    assert task_id in out and "Ship ^[[2J it" in out and "\x1b" not in out
