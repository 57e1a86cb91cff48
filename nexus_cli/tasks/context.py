"""`task context`: a Markdown hand-off so a fresh agent can pick a task up without re-explaining.

The document itself is :func:`nexus_cli.tasks.handoff.render`'s.
"""

from __future__ import annotations

from nexus_cli import validate
from nexus_cli.errors import UsageError
from nexus_cli.project import Project
from nexus_cli.tasks import loading
from nexus_cli.tasks.handoff import render
from nexus_cli.tasks.identity import current_agent
from nexus_cli.tasks.listing import opened
from nexus_cli.tasks.prime import current_tasks
from nexus_cli.tasks.results import TaskContext


def handoff(
    project: Project, ref: str | None = None, *, current: bool = False, agent: str | None = None
) -> TaskContext | None:
    """The hand-off of ``ref`` (``nexus task context`` and the MCP tool ``task_context``), or
    with ``current`` of the caller's most recently changed task in progress (None if none)."""
    if (ref is None) == (not current):
        raise UsageError("give a task ID or --current (not both)")
    with opened(project) as store:
        if ref is None:
            mine = current_tasks(store, current_agent(agent))
            if not mine:
                return None
            ref = str(mine[0]["id"])
        task = loading.load(store, validate.task_ref(ref))
        return TaskContext(task.id, render(store, task))
