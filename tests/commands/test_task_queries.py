"""`nexus task show|blocked|history` (commands/task_queries.py)."""

from __future__ import annotations

from pathlib import Path

from tests.tasks.conftest import new_task, ok


def test_show_blocked_and_history(project: Path) -> None:
    first = new_task("First")
    second = new_task("Second", "--depends-on", first)
    assert ok("task", "show", second, "--json").json()["depends_on"] == [first]
    assert f"{second}  Second" in ok("task", "show", second).stdout
    assert second in ok("task", "blocked").stdout
    assert next(h["action"] for h in ok("task", "history", first, "--json").json()) == "created"
