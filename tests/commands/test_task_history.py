"""`nexus task history` (commands/task_history.py): the record, as a table and as JSON."""

from __future__ import annotations

from pathlib import Path

from tests.tasks.conftest import new_task, ok


def test_history_lists_every_change_with_who_and_what(project: Path) -> None:
    task_id = new_task("First")
    ok("task", "note", task_id, "a note")
    ok("task", "cancel", task_id, "--reason", "not needed")
    entries = ok("task", "history", task_id, "--json").json()
    assert entries[0]["action"] == "created"
    assert entries[-1]["action"] == "transition" and entries[-1]["to"] == "cancelled"
    table = ok("task", "history", task_id).stdout
    assert "WHEN (UTC)" in table and "reason=not needed" in table
