"""Workflow runs from the task history: how long a run takes, and how long an incident takes
to resolve.

A *run* is what one ``nexus workflow run`` created: the tasks labelled ``workflow:NAME`` that
its ``needs`` chain together. Read back from ``tasks.jsonl``, a run is a connected group of tasks
of the same workflow joined by ``depends_on`` (a stage written with ``needs: []`` starts a group
of its own, so such a workflow counts each of those stages as a run).

* duration: from the first claim (move to ``in_progress``) of any of the run's tasks to the
  last move to ``done`` of any of them, for runs whose tasks are all done;
* time to resolution, for incident workflows (the workflow file says ``kind: incident``, as the
  shipped ``incident-response`` does): from the run's creation (its first task's
  ``created_at``) to the last ``done``, for runs whose tasks are all done.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nexus_cli.tasks.labels import LABEL_WORKFLOW
from nexus_cli.tasks.metrics import claim_and_done, label_value, moment
from nexus_cli.tasks.model import Task
from nexus_cli.telemetry.query.stats import percentile


@dataclass
class Run:
    """One workflow run: its tasks and the moments that bound it."""

    workflow: str
    tasks: list[Task] = field(default_factory=list)

    @property
    def completed(self) -> bool:
        return bool(self.tasks) and all(t.status == "done" for t in self.tasks)

    def _bounds(self) -> tuple[datetime | None, datetime | None]:
        claims, dones = [], []
        for task in self.tasks:
            claimed, done = claim_and_done(task)
            if claimed is not None:
                claims.append(claimed)
            if done is not None:
                dones.append(done)
        return min(claims, default=None), max(dones, default=None)

    def started(self) -> datetime | None:
        return self._bounds()[0]

    def duration_ms(self) -> int | None:
        """First claim to last done; None unless every task of the run is done."""
        first, last = self._bounds()
        if not self.completed or first is None or last is None or last < first:
            return None
        return int((last - first).total_seconds() * 1000)

    def resolution_ms(self) -> int | None:
        """Creation of the run to its last done; None unless every task of the run is done."""
        created = [m for m in (moment(t.created_at) for t in self.tasks) if m is not None]
        last = self._bounds()[1]
        if not self.completed or not created or last is None or last < min(created):
            return None
        return int((last - min(created)).total_seconds() * 1000)


def runs(tasks: Iterable[Task]) -> list[Run]:
    """The workflow runs among ``tasks`` (see the module), each run's tasks in id order."""
    by_id: dict[str, Task] = {}
    workflow_of: dict[str, str] = {}
    for task in tasks:
        workflow = label_value(task, LABEL_WORKFLOW)
        if workflow is not None:
            by_id[task.id] = task
            workflow_of[task.id] = workflow
    parent = {task_id: task_id for task_id in by_id}

    def root(task_id: str) -> str:
        while parent[task_id] != task_id:
            parent[task_id] = parent[parent[task_id]]
            task_id = parent[task_id]
        return task_id

    for task_id, task in by_id.items():
        for need in task.depends_on:
            if workflow_of.get(need) == workflow_of[task_id]:
                parent[root(need)] = root(task_id)
    groups: dict[str, Run] = {}
    for task_id in sorted(by_id):
        run = groups.setdefault(root(task_id), Run(workflow_of[task_id]))
        run.tasks.append(by_id[task_id])
    return list(groups.values())


def run_figures(tasks: Iterable[Task], incident: set[str]) -> list[dict[str, Any]]:
    """``stats --workflows`` (``workflow_runs``): per workflow, its runs, how many completed,
    duration p50/p95 and, for the ``incident`` workflows, time to resolution p50/p95."""
    by_workflow: dict[str, list[Run]] = {}
    for run in runs(tasks):
        by_workflow.setdefault(run.workflow, []).append(run)
    rows = []
    for workflow, found in sorted(by_workflow.items()):
        took = sorted(d for d in (r.duration_ms() for r in found) if d is not None)
        resolved = sorted(d for d in (r.resolution_ms() for r in found) if d is not None)
        is_incident = workflow in incident
        rows.append(
            {
                "workflow": workflow,
                "incident": is_incident,
                "runs": len(found),
                "completed": sum(r.completed for r in found),
                "duration_p50_ms": percentile(took, 0.5),
                "duration_p95_ms": percentile(took, 0.95),
                "resolution_p50_ms": percentile(resolved, 0.5) if is_incident else None,
                "resolution_p95_ms": percentile(resolved, 0.95) if is_incident else None,
            }
        )
    return rows
