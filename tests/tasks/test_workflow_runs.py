"""Workflow runs read back from task histories: grouping, duration and time to resolution."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from nexus_cli.project import find_project
from nexus_cli.tasks import workflow_runs
from nexus_cli.tasks.listing import opened
from nexus_cli.tasks.model import Task
from tests.tasks.conftest import ok

START = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)


def _at(minutes: float) -> str:
    return (START + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _task(
    task_id: str,
    workflow: str,
    *,
    needs: tuple[str, ...] = (),
    created: float = 0,
    claimed: float | None = None,
    done: float | None = None,
) -> Task:
    history: list[dict[str, Any]] = []
    if claimed is not None:
        history.append({"action": "transition", "to": "in_progress", "at": _at(claimed)})
    if done is not None:
        history.append({"action": "transition", "to": "done", "at": _at(done)})
    return Task.from_dict(
        {
            "id": task_id,
            "title": task_id,
            "status": "done" if done is not None else "open",
            "labels": [f"workflow:{workflow}", "stage:s"],
            "depends_on": list(needs),
            "history": history,
            "created_at": _at(created),
        }
    )


def test_runs_are_the_chains_of_one_workflow() -> None:
    tasks = [
        _task("nx-a1", "rel"),
        _task("nx-a2", "rel", needs=("nx-a1",)),
        _task("nx-b1", "rel"),
        _task("nx-c1", "other", needs=("nx-b1",)),  # another workflow's task: not joined
        Task.from_dict({"id": "nx-d1", "title": "plain", "depends_on": ["nx-a1"]}),
    ]
    found = [(r.workflow, [t.id for t in r.tasks]) for r in workflow_runs.runs(tasks)]
    assert sorted(found) == [("other", ["nx-c1"]), ("rel", ["nx-a1", "nx-a2"]), ("rel", ["nx-b1"])]


def test_duration_is_first_claim_to_last_done_of_completed_runs() -> None:
    tasks = [
        _task("nx-a1", "rel", claimed=10, done=20),
        _task("nx-a2", "rel", needs=("nx-a1",), claimed=25, done=70),
        _task("nx-b1", "rel", claimed=0, done=30),
        _task("nx-c1", "rel", claimed=0),  # not done: a run, not completed, no duration
    ]
    (row,) = workflow_runs.run_figures(tasks, incident=set())
    assert (row["runs"], row["completed"]) == (3, 2)
    assert (row["duration_p50_ms"], row["duration_p95_ms"]) == (30 * 60_000, 60 * 60_000)
    assert row["incident"] is False and row["resolution_p50_ms"] is None


def test_time_to_resolution_counts_from_creation_for_incident_workflows() -> None:
    tasks = [
        _task("nx-a1", "oncall", created=0, claimed=30, done=40),
        _task("nx-a2", "oncall", needs=("nx-a1",), created=0, claimed=41, done=90),
    ]
    (row,) = workflow_runs.run_figures(tasks, incident={"oncall"})
    assert row["incident"] is True
    assert row["duration_p50_ms"] == 60 * 60_000 and row["resolution_p50_ms"] == 90 * 60_000


def test_a_done_before_its_claim_is_no_duration() -> None:
    tasks = [_task("nx-a1", "rel", created=50, claimed=60, done=40)]
    (row,) = workflow_runs.run_figures(tasks, incident={"rel"})
    assert row["completed"] == 1 and row["duration_p50_ms"] is None
    assert row["resolution_p50_ms"] is None


def test_workflow_run_creates_one_run_per_invocation(tasks_project: Path) -> None:
    (tasks_project / "Makefile").write_text("test:\n\ttrue\n")  # what @tests finds
    for incident in ("db-down", "disk-full"):
        ok("workflow", "run", "incident-response", "--var", f"incident={incident}", "--json")
    with opened(find_project(tasks_project)) as store:
        found = workflow_runs.runs(store.list_tasks())
    assert [len(r.tasks) for r in found] == [3, 3]
    assert {r.workflow for r in found} == {"incident-response"}
    assert not any(r.completed for r in found)
