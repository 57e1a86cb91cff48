"""`nexus task gate list|approve`: what each gate may run, and a person's review of the waiting ones.

The core builds what a person reviews (:func:`review`): for each task, the exact commands that
wait, the diff from the commands approved for it before, and the history entries that set them
(who, when, how). The front end shows it and asks on the terminal; :func:`approve_reviewed`
records the approval of exactly the gates that were shown, so a gate changed while the person
read the screen still waits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from nexus_cli import validate
from nexus_cli.errors import UsageError
from nexus_cli.project import Project
from nexus_cli.tasks import approvals, loading, provenance
from nexus_cli.tasks.listing import opened
from nexus_cli.tasks.model import Gate, Task
from nexus_cli.tasks.statuses import FINISHED

# The gate changes a review shows per task (the most recent ones).
CHANGES_SHOWN = 5


@dataclass
class GateStatus:
    gate: Gate
    approval: approvals.Approval | None

    def to_json(self) -> dict[str, Any]:
        return {
            **self.gate.to_dict(),
            "hash": approvals.gate_hash(self.gate),
            "approved": self.approval is not None,
            "approval": None if self.approval is None else self.approval.to_dict(),
        }


@dataclass
class GateList:
    """``nexus task gate list ID``: each gate of a task, approved (and why) or waiting."""

    task: Task
    gates: list[GateStatus] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"task": self.task.id, "gates": [g.to_json() for g in self.gates]}


def gate_list(project: Project, ref: str) -> GateList:
    with opened(project) as store:
        task = loading.load(store, validate.task_ref(ref))
    book = approvals.Book(project)
    return GateList(task, [GateStatus(g, book.approval_for(task.id, g)) for g in task.gates])


@dataclass
class Review:
    """One task's waiting gates, as a person reviews them before approving."""

    task: Task
    waiting: list[Gate]
    approved: list[Gate]
    previous: list[str]
    changes: list[dict[str, Any]]

    def diff(self) -> list[str]:
        """The task's commands against those approved for it before: ``-`` gone, ``+`` new
        (waiting), two spaces unchanged (still approved)."""
        now = {g.command for g in self.task.gates if g.wait is None}
        kept = {g.command for g in self.approved}
        lines = [f"- {c}" for c in self.previous if c not in now]
        lines += [f"  {g.command}" for g in self.task.gates if g.command in kept and not g.wait]
        lines += [f"+ {g.command}" for g in self.waiting]
        return lines

    def change_lines(self) -> list[str]:
        return [provenance.describe(e) for e in self.changes[-CHANGES_SHOWN:]]


def review(project: Project, refs: Sequence[str], *, every: bool = False) -> list[Review]:
    """The reviews of the tasks ``refs`` name (or, with ``every``, of every unfinished task
    with a waiting gate); a task none of whose gates waits has none."""
    if every and refs:
        raise UsageError("give task IDs or --all, not both")
    if not every and not refs:
        raise UsageError("name the tasks to review (ID ...), or pass --all")
    with opened(project) as store:
        if every:
            tasks = [t for t in store.list_tasks() if t.status not in FINISHED]
        else:
            tasks = [loading.load(store, validate.task_ref(r)) for r in refs]
    book = approvals.Book(project)
    reviews = []
    for task in {t.id: t for t in tasks}.values():
        waiting = book.pending(task)
        if not waiting:
            continue
        reviews.append(
            Review(
                task=task,
                waiting=waiting,
                approved=[g for g in task.gates if g.wait is None and g not in waiting],
                previous=approvals.previous_commands(project, task.id),
                changes=provenance.gate_changes(task),
            )
        )
    return reviews


def approve_reviewed(project: Project, reviews: Sequence[Review]) -> int:
    """Approve exactly the gates the person saw (``how: terminal``); how many were approved."""
    for item in reviews:
        approvals.approve(project, item.task.id, item.waiting, how="terminal")
    return sum(len(item.waiting) for item in reviews)
