"""`task context`: the Markdown hand-off."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_nexus
from tests.tasks.conftest import new_task, ok


def test_context_has_everything_a_fresh_agent_needs(tasks_project: Path) -> None:
    base = new_task("Design the schema")
    task_id = new_task(
        "Build the importer",
        "-d",
        "Import CSV files into the store",
        "--depends-on",
        base,
        "--gate",
        "echo 'assert 2 == 3'; exit 1",
    )
    ok("task", "note", task_id, "use the streaming parser")
    ok("task", "start", task_id)
    assert run_nexus("task", "complete", task_id).exit_code == 3
    text = ok("task", "context", task_id).stdout
    assert text.startswith(f"# {task_id}: Build the importer")
    assert "## Goal\n\nImport CSV files into the store" in text
    assert "FAILED (exit 1)" in text and "assert 2 == 3" in text
    assert "use the streaming parser" in text
    assert f"depends on {base} [open]: Design the schema" in text
    assert f"Work in: `{tasks_project}`" in text
    assert "needed by" in ok("task", "context", base).stdout
