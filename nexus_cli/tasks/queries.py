"""The task queries that every front end offers: ready, list, show, blocked and history.

Each is the one implementation behind both ``nexus task <query> --json`` and the MCP tool of the
same name (ADR 0007): it validates its input with :mod:`nexus_cli.validate`, opens the store for
the call and returns a result object from :mod:`nexus_cli.tasks.results`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from nexus_cli import validate
from nexus_cli.caller import Caller
from nexus_cli.errors import UsageError
from nexus_cli.project import Project
from nexus_cli.tasks import lifecycle
from nexus_cli.tasks.identity import current_agent
from nexus_cli.tasks.limits import READY_LIMIT
from nexus_cli.tasks.results import BlockedListing, TaskHistory, TaskListing, TaskResult
from nexus_cli.tasks.statuses import STATUSES
from nexus_cli.tasks.store import TaskStore, open_store


@contextmanager
def opened(project: Project) -> Iterator[TaskStore]:
    """The task store for one operation, closed after it (the MCP server lives for a session)."""
    store = open_store(project)
    try:
        yield store
    finally:
        store.close()


def check_status(status: str | None) -> str | None:
    if status is not None and status not in STATUSES:
        raise UsageError(f"unknown status {status!r}", hint=f"one of: {', '.join(STATUSES)}")
    return status


def ready(
    project: Project,
    *,
    agent: str | None = None,
    limit: int | None = None,
    caller: Caller = Caller.PERSON,
) -> TaskListing:
    """Open tasks with no unfinished dependency, unassigned or ``agent``'s; by priority, age."""
    limit = READY_LIMIT[caller] if limit is None else limit
    if limit < 0:
        raise UsageError(f"limit must be 0 (all) or more, not {limit}")
    with opened(project) as store:
        return TaskListing(store.ready_docs(current_agent(agent), limit))


def list_tasks(
    project: Project,
    *,
    status: str | None = None,
    assignee: str | None = None,
    label: str | None = None,
    workspace: str | None = None,
) -> TaskListing:
    """Every task matching all the filters given, by priority then age."""
    check_status(status)
    if workspace is not None:
        validate.workspace_name(workspace)
    with opened(project) as store:
        docs = store.list_docs(status=status, assignee=assignee, label=label, workspace=workspace)
    return TaskListing(docs)


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
