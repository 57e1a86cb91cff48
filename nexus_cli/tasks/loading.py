"""The one task a reference names (a full ID or any unique start of one): what `task show` and
`task history` read, and what every change starts with.

Apart from :mod:`nexus_cli.tasks.lifecycle` so that the queries load none of what changing a task
needs (claims and their owners, hashing a reason).
"""

from __future__ import annotations

from nexus_cli.errors import NotFoundError
from nexus_cli.tasks.model import Task
from nexus_cli.tasks.store import TaskStore
from nexus_cli.telemetry.journal import invocation


def resolve(store: TaskStore, text: str) -> str:
    """The one task ID that ``text`` (a full ID or any unique prefix) names."""
    return store.resolve(text)


def load(store: TaskStore, text: str) -> Task:
    """The task ``text`` names (recorded as the invocation's task)."""
    task_id = resolve(store, text)
    task = store.get(task_id)
    if task is None:  # pragma: no cover - resolve() just found it inside the same connection
        raise NotFoundError(f"task {task_id} vanished")
    invocation.note(event_type="task", task=task.id)
    return task
