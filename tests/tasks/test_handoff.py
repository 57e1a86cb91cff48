"""The hand-off document of one task: goal, gates with their last runs, notes, related tasks."""

from __future__ import annotations

from pathlib import Path

from nexus_cli.project import find_project
from nexus_cli.tasks.handoff import render
from nexus_cli.tasks.store import open_store
from tests.conftest import run_nexus
from tests.tasks.conftest import new_task, ok


def test_the_hand_off_names_the_goal_gates_notes_and_related_tasks(tasks_project: Path) -> None:
    base = new_task("Design the schema")
    task_id = new_task(
        "Build the importer",
        "-d",
        "Import CSV",
        "--depends-on",
        base,
        "--gate",
        "echo boom; exit 4",
    )
    ok("task", "note", task_id, "use the streaming parser")
    ok("task", "start", task_id)
    assert run_nexus("task", "complete", task_id).exit_code == 3
    store = open_store(find_project())
    try:
        text = render(store, store.get(task_id))
        first = render(store, store.get(base))
    finally:
        store.close()
    assert text.startswith(f"# {task_id}: Build the importer\n")
    assert "- Status: in_progress; priority P2; assignee: alice" in text
    assert f"- Work in: `{tasks_project}`" in text
    assert "## Goal\n\nImport CSV\n" in text
    assert "- `echo boom; exit 4`, timeout 600s — last run: FAILED (exit 4)" in text
    assert "  boom" in text
    assert "alice: use the streaming parser" in text
    assert f"- depends on {base} [open]: Design the schema" in text
    assert f"- needed by {task_id} [in_progress]: Build the importer" in first
    assert "_No gates: `nexus task gate add` one._" in first
