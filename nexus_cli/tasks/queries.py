"""The task queries that every front end offers: show, blocked and history (``ready`` and
``list`` are in :mod:`nexus_cli.tasks.listing`).

Each is the one implementation behind both ``nexus task <query> --json`` and the MCP tool of the
same name (ADR 0007): it validates its input with :mod:`nexus_cli.validate`, opens the store for
the call and returns a result object from :mod:`nexus_cli.tasks.results`.
"""

from __future__ import annotations

from nexus_cli import validate
from nexus_cli.project import Project
from nexus_cli.tasks import lifecycle
from nexus_cli.tasks.listing import opened
from nexus_cli.tasks.results import BlockedListing, TaskHistory, TaskResult


def show(project: Project, ref: str) -> TaskResult:
    """The task that ``ref`` (an id or a unique start of one) names."""
    with opened(project) as store:
        return TaskResult(lifecycle.load(store, validate.task_ref(ref)))


def blocked(project: Project) -> BlockedListing:
    with opened(project) as store:
        return BlockedListing(store.blocked())


def history(project: Project, ref: str) -> TaskHistory:
    with opened(project) as store:
        return TaskHistory(lifecycle.load(store, validate.task_ref(ref)))
