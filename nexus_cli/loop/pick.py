"""Which task the loop works on next, where the agent runs, and what it is told.

Every change to a task (claim, assign) goes through :mod:`nexus_cli.tasks.actions`, the one
implementation behind the CLI and the MCP tools; the held store is only read.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from nexus_cli import owner
from nexus_cli.errors import ConflictError, UsageError
from nexus_cli.tasks import actions, approvals, lease, loading
from nexus_cli.tasks.handoff import render
from nexus_cli.tasks.listing import ready_docs
from nexus_cli.tasks.model import Task, parse_doc
from nexus_cli.tasks.stage_persona import switch_for
from nexus_cli.tasks.store import TaskStore
from nexus_cli.tasks.workdir import gate_directory

READY_WINDOW = 50


def next_task(
    store: TaskStore,
    actor: str,
    given: str | None,
    *,
    first: bool,
    waiting: list[str] | None = None,
    holder: owner.Owner | None = None,
    lease_s: int | None = None,
    skip: Collection[str] = (),
) -> Task | None:
    """The ``given`` task (once), or the first ready task with gates that ``actor`` can claim.

    Tasks whose lease expired (their agent died) are reclaimed first, so they are ready again.
    A ready task whose gates wait for a person's approval is skipped, noted, and its id added
    to ``waiting``; a task in ``skip`` (left for its waiting gates) is passed over. The claim's
    lease is held by ``holder``."""
    claim: dict[str, Any] = {"holder": holder, "lease_s": lease_s}
    if given is not None:
        return _given(store, given, actor, claim) if first else None
    reclaim_expired(store, actor)
    book = approvals.Book(store.project)
    for doc in ready_docs(store.project, store, actor, READY_WINDOW):
        candidate = parse_doc(doc)
        if not candidate.gates:
            continue  # nothing would tell the loop when it is done
        if candidate.id in skip:
            continue  # this loop left it already: its waiting gates are not satisfied
        if book.pending(candidate):
            note_waiting(store, candidate.id, actor)
            if waiting is not None and candidate.id not in waiting:
                waiting.append(candidate.id)
            continue  # the agent would work for gates that cannot run
        try:
            return actions.change(store.project, candidate.id, "claim", agent=actor, **claim).task
        except ConflictError:
            continue  # another agent won it: try the next one
    return None


def reclaim_expired(store: TaskStore, actor: str) -> list[str]:
    """Reclaim every in-progress task whose lease has expired; their ids."""
    taken: list[str] = []
    for task in store.list_tasks(status="in_progress"):
        if lease.expired(task):
            try:
                actions.change(store.project, task.id, "reclaim", agent=actor)
            except ConflictError:
                continue  # its holder beat just now, or another loop reclaimed it first
            taken.append(task.id)
    return taken


def _given(store: TaskStore, ref: str, actor: str, claim: dict[str, Any]) -> Task:
    if lease.expired(loading.load(store, ref)):
        reclaim_expired(store, actor)
    task = loading.load(store, ref)
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
        return actions.change(store.project, task.id, "claim", agent=actor, **claim).task
    if task.status == "in_progress" and task.assignee in (None, actor):
        if task.assignee is None:
            return actions.change(
                store.project, task.id, "assign", agent=actor, assignee=actor
            ).task
        return task  # resume our own claimed task
    owner = f" by {task.assignee}" if task.assignee else ""
    raise ConflictError(f"task {task.id} is {task.status}{owner}: the loop cannot take it")


# How the loop's note begins when it stops on a task it could not finish, or leaves one that
# waits on a person, a moment or a task (it stays claimed, in progress): the reason follows
# (see :func:`stopped_since`).
STOPPED_NOTE = "nexus loop stopped: "
LEFT_NOTE = "nexus loop left it: "


def stopped_since(task: Task, at: str) -> str | None:
    """Why a loop stopped on ``task`` at or after ``at`` (a :func:`~nexus_cli.tasks.model.now_iso`
    time), from its note (:func:`note_waiting`'s too: a gate waits for a person); None when no
    loop stopped on it since."""
    for note in reversed(task.notes):
        text = str(note.get("text") or "")
        if str(note.get("at") or "") < at:
            return None
        if text == waiting_note(task.id):
            return text
        for prefix in (STOPPED_NOTE, LEFT_NOTE):
            if text.startswith(prefix):
                return text.removeprefix(prefix)
    return None


def waiting_note(task_id: str) -> str:
    return f"gates wait for a person's approval: nexus task gate approve {task_id}"


def note_waiting(store: TaskStore, task_id: str, actor: str) -> None:
    """Tell whoever reads the task why the loop left it (once: not again on every run)."""
    text = waiting_note(task_id)
    task = loading.load(store, task_id)
    if task.notes and task.notes[-1].get("text") == text:
        return
    actions.change(store.project, task_id, "note", agent=actor, text=text)


def _finished(store: TaskStore, task_id: str) -> bool:
    dep = store.get(task_id)
    return dep is None or dep.finished


def enter_stage(store: TaskStore, task: Task) -> str | None:
    """Starting a workflow stage in a workspace switches the workspace's persona."""
    return switch_for(store.project, task)


def work_dir(store: TaskStore, task: Task) -> Path:
    """Where the agent runs: the same folder as the task's gates."""
    return gate_directory(store.project, task)


def prompt_for(store: TaskStore, task: Task, number: int, final: int, promise: str | None) -> str:
    """The task's hand-off Markdown (last failing gates included) plus how the loop works;
    ``number`` is this iteration's (they go on across runs), ``final`` this run's last."""
    lines = [
        render(store, task).rstrip("\n"),
        "",
        "## Loop",
        "",
        f"This is iteration {number} of at most {final} of `nexus loop`.",
        "Make the change, then exit: the gates above run after you exit and all must pass.",
        "Failing gates and their output come back to you in the next iteration.",
    ]
    if promise:
        lines.append(f"When you are sure the work is complete, print `{promise}`.")
    return "\n".join(lines) + "\n"
