"""The task queries that every front end offers: show, blocked and history (``ready`` and
``list`` are in :mod:`nexus_cli.tasks.listing`).

Each is the one implementation behind both ``nexus task <query> --json`` and the MCP tool of the
same name (ADR 0007): it validates its input with :mod:`nexus_cli.validate`, opens the store for
the call and returns a result object from :mod:`nexus_cli.tasks.results`.
"""

from __future__ import annotations

from nexus_cli import validate
from nexus_cli.project import Project
from nexus_cli.tasks import loading, waits
from nexus_cli.tasks.listing import opened
from nexus_cli.tasks.model import Task, parse_doc
from nexus_cli.tasks.results import BlockedListing, TaskHistory, TaskResult
from nexus_cli.tasks.store import TaskStore


def show(project: Project, ref: str) -> TaskResult:
    """The task that ``ref`` (an id or a unique start of one) names."""
    with opened(project) as store:
        return TaskResult(loading.load(store, validate.task_ref(ref)))


def blocked(project: Project) -> BlockedListing:
    """Unfinished tasks that wait: on unfinished dependencies, or on a waiting gate that is not
    satisfied now (a person's approval, a moment, a task here or in another repository)."""
    with opened(project) as store:
        return _with_waits(project, store, store.blocked(), None)


def blocked_page(project: Project, store: TaskStore, limit: int) -> tuple[bool, BlockedListing]:
    """The first ``limit`` tasks of :func:`blocked` (by priority, age) and whether there are
    more, reading each index only as far as that (the session briefing's bounded list)."""
    more, page = store.blocked_page(limit)
    listing = _with_waits(project, store, [(parse_doc(doc), deps) for doc, deps in page], limit)
    more = more or len(listing.pairs) > limit
    del listing.pairs[limit:]
    return more, listing


def _with_waits(
    project: Project, store: TaskStore, pairs: list[tuple[Task, list[str]]], limit: int | None
) -> BlockedListing:
    """``pairs`` (tasks blocked by dependencies) with the tasks whose waiting gates are not
    satisfied now, in ``task list`` order; with ``limit``, at most ``limit + 1`` of the latter."""
    checker = waits.Checker(project, store.get)
    waiting: dict[str, list[waits.WaitState]] = {}
    known = {task.id for task, _ in pairs}
    for task in store.with_waiting_gates():
        states = checker.unsatisfied(task)
        if not states:
            continue
        waiting[task.id] = states
        if task.id not in known:
            pairs.append((task, store.unfinished_dependencies(task.id)))
        if limit is not None and len(waiting) > limit:
            break
    pairs.sort(key=lambda pair: (pair[0].priority, pair[0].created_at, pair[0].id))
    return BlockedListing(pairs, waiting)


def history(project: Project, ref: str) -> TaskHistory:
    with opened(project) as store:
        return TaskHistory(loading.load(store, validate.task_ref(ref)))
