"""What the task operations return: one result object per kind, whose ``to_json()`` is the
``--json`` shape and the MCP tool's result alike (docs/schemas/v1/task-*.schema.json)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nexus_cli.tasks.model import Task
from nexus_cli.tasks.waits import WaitState


@dataclass(frozen=True)
class TaskResult:
    """One task after a query or a change; ``persona`` is the workflow stage persona that a
    ``start`` switched its workspace to, if any (not part of the JSON)."""

    task: Task
    persona: str | None = None
    gates_detected: bool = False

    def to_json(self) -> dict[str, Any]:
        return self.task.to_dict()


@dataclass(frozen=True)
class SplitResult:
    """A task split into subtasks: the parent and its new children."""

    parent: Task
    children: list[Task]

    def to_json(self) -> dict[str, Any]:
        return {"parent": self.parent.to_dict(), "children": [c.to_dict() for c in self.children]}


@dataclass(frozen=True)
class BlockedListing:
    """Unfinished tasks waiting on unfinished ones (``blocked_by``) or on waiting gates not yet
    satisfied (``waiting_on``: a person, a moment, another task), each with what it waits on."""

    pairs: list[tuple[Task, list[str]]]
    waiting: dict[str, list[WaitState]] = field(default_factory=dict)

    def to_json(self) -> list[dict[str, Any]]:
        return [
            {
                **task.to_dict(),
                "blocked_by": deps,
                "waiting_on": [s.to_json() for s in self.waiting.get(task.id, [])],
            }
            for task, deps in self.pairs
        ]


@dataclass(frozen=True)
class TaskHistory:
    task: Task

    def to_json(self) -> list[dict[str, Any]]:
        return self.task.history


@dataclass(frozen=True)
class TaskContext:
    """The Markdown hand-off of one task (a text, not JSON: its ``to_json()`` is the string)."""

    task_id: str
    markdown: str

    def to_json(self) -> str:
        return self.markdown
