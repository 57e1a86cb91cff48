"""The task queries that every front end offers: show, blocked and history (``ready``,
``list`` and the briefing's first page of ``blocked`` are in :mod:`nexus_cli.tasks.listing`).

Each is the one implementation behind both ``nexus task <query> --json`` and the MCP tool of the
same name (ADR 0007): it validates its input with :mod:`nexus_cli.validate`, opens the store for
the call and returns a result object from :mod:`nexus_cli.tasks.results`.
"""

from __future__ import annotations

from nexus_cli import validate
from nexus_cli.project import Project
from nexus_cli.tasks import loading
from nexus_cli.tasks.listing import opened, with_waits
from nexus_cli.tasks.results import BlockedListing, TaskHistory, TaskResult


def show(project: Project, ref: str) -> TaskResult:
    """The task that ``ref`` (an id or a unique start of one) names."""
    with opened(project) as store:
        return TaskResult(loading.load(store, validate.task_ref(ref)))


def blocked(project: Project) -> BlockedListing:
    """Unfinished tasks that wait: on unfinished dependencies, or on a waiting gate that is not
    satisfied now (a person's approval, a moment, a task here or in another repository)."""
    with opened(project) as store:
        pairs, waiting = with_waits(project, store, store.blocked(), None)
    return BlockedListing(pairs, waiting)


def history(project: Project, ref: str) -> TaskHistory:
    with opened(project) as store:
        return TaskHistory(loading.load(store, validate.task_ref(ref)))
