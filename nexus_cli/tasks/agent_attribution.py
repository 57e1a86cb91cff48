"""Which task an agent's usage belongs to: the task claimed where, and when, the agent worked.

In order:

1. a task id the agent's own data names (``NEXUS_TASK_ID`` passed on by ``nexus loop`` as the
   OpenTelemetry resource attribute ``nexus.task.id``), when valid;
2. the folder the session ran in (``cwd`` of a transcript line): inside a workspace worktree
   (``.nexus/worktrees/NAME``) of an initialised project, the task of workspace ``NAME`` whose
   claim covers the moment of the usage (claimed: from a move to ``in_progress`` until the task
   is done, cancelled or released; the latest claim wins if several cover it); in the main
   checkout, the one task without a workspace whose claim covers the moment, if exactly one does;
3. otherwise none: the usage is kept as *unattributed*.

The folder itself is never stored: only the salted hash of the project's root, so that
``nexus stats --cost`` in a project shows that project's usage.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nexus_cli import timefmt
from nexus_cli.errors import NexusError
from nexus_cli.project import TASKS_FILE, Project, find_project
from nexus_cli.tasks.database import db_path
from nexus_cli.tasks.listing import opened
from nexus_cli.tasks.model import Task
from nexus_cli.telemetry.agents.records import Hasher

CLAIMED = frozenset({"in_progress", "verifying", "review", "rejected"})
Window = tuple[int, int | None]  # epoch ms; None: still claimed


def _ms(value: object) -> int | None:
    found = timefmt.parse_moment(value)
    return None if found is None else int(found.timestamp() * 1000)


def claim_windows(task: Task) -> list[Window]:
    """The spans in which the task was claimed, from its history's transitions, oldest first."""
    windows: list[Window] = []
    start: int | None = None
    for entry in task.history:
        if not isinstance(entry, dict) or entry.get("action") != "transition":
            continue
        at = _ms(entry.get("at"))
        if at is None:
            continue
        if entry.get("to") in CLAIMED:
            start = at if start is None else start
        elif start is not None:
            windows.append((start, at))
            start = None
    if start is not None:
        windows.append((start, None))
    return windows


def covering(tasks: list[Task], at_ms: int) -> list[tuple[int, Task]]:
    """``(claim start, task)`` of each task whose claim covers ``at_ms``, latest claim first."""
    found = []
    for task in tasks:
        for start, end in claim_windows(task):
            if start <= at_ms and (end is None or at_ms <= end):
                found.append((start, task))
    return sorted(found, key=lambda pair: -pair[0])


@dataclass
class _Place:
    project_hash: str | None
    workspace: str | None
    tasks: list[Task]


class Attributor:
    """Finds the task of a folder and moment; projects and task lists are read once per run."""

    def __init__(self, hasher: Hasher) -> None:
        self._hash = hasher
        self._places: dict[str, _Place | None] = {}
        self._tasks: dict[Path, list[Task]] = {}

    def attribute(
        self, cwd: str | None, at_ms: int, named: str | None = None
    ) -> tuple[str | None, str | None]:
        """``(task id, project hash)`` for usage at ``at_ms`` in folder ``cwd``."""
        place = self._place(cwd) if cwd else None
        project_hash = place.project_hash if place else None
        if named is not None:
            return named, project_hash
        if place is None or not place.tasks:
            return None, project_hash
        if place.workspace is not None:
            mine = [t for t in place.tasks if t.workspace == place.workspace]
            found = covering(mine, at_ms)
            return (found[0][1].id if found else None), project_hash
        found = covering([t for t in place.tasks if not t.workspace], at_ms)
        return (found[0][1].id if len(found) == 1 else None), project_hash

    def _place(self, cwd: str) -> _Place | None:
        if cwd not in self._places:
            self._places[cwd] = self._find(cwd)
        return self._places[cwd]

    def _find(self, cwd: str) -> _Place | None:
        path = Path(cwd)
        try:
            if not path.is_dir():
                return None
            project = find_project(path)
        except (NexusError, OSError, ValueError):
            return None
        project_hash = self._hash(str(project.root.resolve()), kind="project")
        return _Place(project_hash, project.worktree_at(path), self._project_tasks(project))

    def _project_tasks(self, project: Project) -> list[Task]:
        root = project.root.resolve()
        if root not in self._tasks:
            self._tasks[root] = read_tasks(project)
        return self._tasks[root]


def read_tasks(project: Project) -> list[Task]:
    """The tasks of an initialised project (none, and nothing created, elsewhere)."""
    if not project.is_initialized:
        return []
    if not (project.nexus_dir / TASKS_FILE).is_file() and not db_path(project).is_file():
        return []
    try:
        with opened(project) as store:
            return store.list_tasks()
    except NexusError:
        return []  # a broken task store there: its usage stays unattributed


def project_hash(hasher: Hasher, project: Project) -> str:
    return hasher(str(project.root.resolve()), kind="project")
