"""The task listings every front end offers: ``ready`` and ``list`` (ADR 0007).

Kept apart from the other queries because ``task ready`` is a hot path: a listing is printed
from the stored JSON documents without loading the task model or the lifecycle.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nexus_cli import jsonio, validate
from nexus_cli.caller import Caller
from nexus_cli.errors import UsageError
from nexus_cli.project import Project
from nexus_cli.tasks.identity import current_agent
from nexus_cli.tasks.limits import LIST_LIMIT, MAX_LIMIT, READY_LIMIT
from nexus_cli.tasks.model import Task
from nexus_cli.tasks.statuses import STATUSES
from nexus_cli.tasks.store import TaskStore, open_store

if TYPE_CHECKING:
    from nexus_cli.tasks.model import Task


@contextmanager
def opened(project: Project) -> Iterator[TaskStore]:
    """The task store for one operation, closed after it (the MCP server lives for a session)."""
    store = open_store(project)
    try:
        yield store
    finally:
        store.close()


@dataclass
class TaskListing:
    """Tasks as their canonical JSON documents, by priority then age; kept as text so that a
    listing can be printed without parsing each task."""

    docs: list[str]

    def to_json(self) -> list[Any]:
        return [jsonio.loads(doc) for doc in self.docs]

    def json_text(self) -> str:
        """The same JSON as ``to_json()``, written straight from the stored documents."""
        return "[\n" + ",\n".join(self.docs) + "\n]" if self.docs else "[]"

    def tasks(self) -> list[Task]:
        # The task model (dataclasses, datetime) is imported here: only a table needs it.

        return [Task.from_dict(doc) for doc in self.to_json()]


def check_status(status: str | None) -> str | None:
    if status is not None and status not in STATUSES:
        raise UsageError(f"unknown status {status!r}", hint=f"one of: {', '.join(STATUSES)}")
    return status


def check_limit(limit: int) -> int:
    """``limit`` if it is 0 (all) to :data:`MAX_LIMIT`; a usage error (one line) otherwise."""
    if not 0 <= limit <= MAX_LIMIT:
        raise UsageError(f"limit: must be an integer between 0 and {MAX_LIMIT}, not {limit}")
    return limit


def ready(
    project: Project,
    *,
    agent: str | None = None,
    limit: int | None = None,
    caller: Caller = Caller.PERSON,
) -> TaskListing:
    """Open tasks with no unfinished dependency, unassigned or ``agent``'s; by priority, age."""
    limit = check_limit(READY_LIMIT[caller] if limit is None else limit)
    with opened(project) as store:
        return TaskListing(store.ready_docs(current_agent(agent), limit))


def list_tasks(
    project: Project,
    *,
    status: str | None = None,
    assignee: str | None = None,
    label: str | None = None,
    workspace: str | None = None,
    limit: int | None = None,
    caller: Caller = Caller.PERSON,
) -> TaskListing:
    """The tasks matching all the filters given, by priority then age: the first ``limit``
    (0: all; by default :data:`LIST_LIMIT` of ``caller``)."""
    limit = check_limit(LIST_LIMIT[caller] if limit is None else limit)
    check_status(status)
    if workspace is not None:
        validate.workspace_name(workspace)
    with opened(project) as store:
        docs = store.list_docs(
            limit, status=status, assignee=assignee, label=label, workspace=workspace
        )
    return TaskListing(docs)
