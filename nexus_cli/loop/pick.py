"""Which task the loop works on next, where the agent runs, and what it is told."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from nexus_cli.errors import ConflictError, UsageError
from nexus_cli.tasks import approvals, lifecycle
from nexus_cli.tasks.model import Task
from nexus_cli.tasks.store import TaskStore

if TYPE_CHECKING:
    from nexus_cli.loop.runner import LoopOptions

READY_WINDOW = 50


def next_task(
    store: TaskStore, opts: LoopOptions, *, first: bool, waiting: list[str] | None = None
) -> Task | None:
    """The given task (once), or the first ready task with gates that this agent can claim.

    A ready task whose gates wait for a person's approval is skipped, noted, and its id added
    to ``waiting``."""
    if opts.task is not None:
        return _given(store, opts.task, opts.actor) if first else None
    book = approvals.Book(store.project)
    for candidate in store.ready(opts.actor, READY_WINDOW):
        if not candidate.gates:
            continue  # nothing would tell the loop when it is done
        if book.pending(candidate):
            note_waiting(store, candidate.id, opts.actor)
            if waiting is not None and candidate.id not in waiting:
                waiting.append(candidate.id)
            continue  # the agent would work for gates that cannot run
        try:
            return lifecycle.change(store, candidate.id, opts.actor, "claim")
        except ConflictError:
            continue  # another agent won it: try the next one
    return None


def _given(store: TaskStore, ref: str, actor: str) -> Task:
    task = lifecycle.load(store, ref)
    if not task.gates:
        raise UsageError(
            f"task {task.id} has no gates: the loop would not know when it is done",
            hint=f"add one with `nexus task gate add {task.id} CMD`",
        )
    waiting = approvals.pending(store.project, task)
    if waiting:
        note_waiting(store, task.id, actor)
        raise approvals.needs_approval(task, waiting)
    unfinished = [d for d in task.depends_on if not _finished(store, d)]
    if unfinished and task.status != "in_progress":
        raise ConflictError(
            f"task {task.id} is blocked by {', '.join(unfinished)}",
            hint="finish those first, or run `nexus loop` without --task to follow the order",
        )
    if task.status in ("open", "rejected"):
        return lifecycle.change(store, task.id, actor, "claim")
    if task.status == "in_progress" and task.assignee in (None, actor):
        if task.assignee is None:
            return lifecycle.change(store, task.id, actor, "assign", assignee=actor)
        return task  # resume our own claimed task
    owner = f" by {task.assignee}" if task.assignee else ""
    raise ConflictError(f"task {task.id} is {task.status}{owner}: the loop cannot take it")


def waiting_note(task_id: str) -> str:
    return f"gates wait for a person's approval: nexus task gate approve {task_id}"


def note_waiting(store: TaskStore, task_id: str, actor: str) -> None:
    """Tell whoever reads the task why the loop left it (once: not again on every run)."""
    text = waiting_note(task_id)
    task = lifecycle.load(store, task_id)
    if task.notes and task.notes[-1].get("text") == text:
        return
    lifecycle.change(store, task_id, actor, "note", text=text)


def _finished(store: TaskStore, task_id: str) -> bool:
    dep = store.get(task_id)
    return dep is None or dep.finished


def enter_stage(store: TaskStore, task: Task) -> str | None:
    """Starting a workflow stage in a workspace switches the workspace's persona."""
    from nexus_cli.workflows.stage_persona import switch_for

    return switch_for(store.project, task)


def work_dir(store: TaskStore, task: Task) -> Path:
    """Where the agent runs: the same folder as the task's gates."""
    from nexus_cli.tasks.gates import gate_directory

    return gate_directory(store.project, task)


def prompt_for(store: TaskStore, task: Task, number: int, opts: LoopOptions) -> str:
    """The task's hand-off Markdown (last failing gates included) plus how the loop works."""
    from nexus_cli.tasks.context import render

    lines = [
        render(store, task).rstrip("\n"),
        "",
        "## Loop",
        "",
        f"This is iteration {number} of at most {opts.max_iterations} of `nexus loop`.",
        "Make the change, then exit: the gates above run after you exit and all must pass.",
        "Failing gates and their output come back to you in the next iteration.",
    ]
    if opts.promise:
        lines.append(f"When you are sure the work is complete, print `{opts.promise}`.")
    return "\n".join(lines) + "\n"
