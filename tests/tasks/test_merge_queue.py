"""The merge queue's file: entries added, refused, removed, and a damaged file read safely."""

from __future__ import annotations

from pathlib import Path

from nexus_cli.project import find_project
from nexus_cli.tasks import merge_queue
from tests.conftest import run_nexus
from tests.tasks.conftest import new_task, ok


def _done(name: str) -> str:
    ok("workspace", "create", name)
    task_id = new_task(f"Task {name}", "--gate", "true", "--workspace", name)
    ok("task", "start", task_id)
    ok("task", "complete", task_id)
    return task_id


def test_only_a_task_whose_gates_passed_is_queued_once(tasks_project: Path) -> None:
    open_task = new_task("Not yet", "--gate", "true")
    refused = run_nexus("queue", "add", open_task)
    assert refused.exit_code != 0 and "only a task whose gates passed" in refused.stderr

    task_id = _done("feat")
    entry = ok("queue", "add", task_id, "--json").json()
    assert (entry["task"], entry["branch"], entry["target"]) == (task_id, "feat", "main")
    again = run_nexus("queue", "add", task_id)
    assert again.exit_code != 0 and "already in the merge queue" in again.stderr
    assert [e["task"] for e in ok("queue", "list", "--json").json()["entries"]] == [task_id]

    assert ok("queue", "remove", task_id, "--json").json()["task"] == task_id
    assert ok("queue", "list", "--json").json() == {"entries": [], "recent": []}


def test_a_missing_branch_or_target_is_refused(tasks_project: Path) -> None:
    task_id = _done("feat")
    gone = run_nexus("queue", "add", task_id, "--into", "nowhere")
    assert gone.exit_code != 0 and "no branch 'nowhere'" in gone.stderr
    assert ok("queue", "list", "--json").json()["entries"] == []


def test_a_damaged_queue_file_drops_what_is_not_an_entry(tasks_project: Path) -> None:
    task_id = _done("feat")
    ok("queue", "add", task_id)
    project = find_project()
    path = project.state_dir / merge_queue.QUEUE_FILE
    text = path.read_text()
    bad = '{"task": "x; rm -rf /", "branch": "--force", "target": "main", "queued_at": "t", "by": "b"}'
    path.write_text(text.replace('"entries": [', f'"entries": [{bad}, '))
    state = merge_queue.read(project)
    assert [e.task for e in state.entries] == [task_id]

    path.write_text("{not json")
    listed = run_nexus("queue", "list", "--json")
    assert listed.exit_code == 0 and listed.json()["entries"] == []
    assert "merge queue starts empty" in listed.stderr
