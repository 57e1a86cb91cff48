"""`nexus task create` and the named changes (commands/task_changes.py)."""

from __future__ import annotations

from pathlib import Path

from tests.tasks.conftest import new_task, ok


def test_each_change_prints_the_task_and_its_new_state(project: Path) -> None:
    task_id = new_task("Ship it")
    assert ok("task", "assign", task_id, "bob").stdout.split() == [
        task_id,
        "open",
        "bob",
        "Ship",
        "it",
    ]
    assert (
        ok("task", "note", task_id, "half way", "--json").json()["notes"][0]["text"] == "half way"
    )
    other = new_task("Other")
    ok("task", "dep", "add", task_id, other)
    assert ok("task", "show", task_id, "--json").json()["depends_on"] == [other]
    ok("task", "dep", "remove", task_id, other)
    assert ok("task", "cancel", task_id, "--reason", "not needed").stdout.split()[1] == "cancelled"
