"""Where a task's host gates (and its agent) run: its workspace's worktree, else the project root.

Kept apart from :mod:`nexus_cli.tasks.gates` (which runs gates, in containers too, and so loads
the engine module) because the hand-off a session gets after a compaction names this folder and
the hook that prints it must answer in milliseconds (benchmarks/hooks.py).
"""

from __future__ import annotations

from pathlib import Path

from nexus_cli import validate
from nexus_cli.project import Project
from nexus_cli.tasks.model import Task
from nexus_cli.workspaces.worktree import checked


def gate_directory(project: Project, task: Task) -> Path:
    """Where a task's host gates (and its agent) run: the task's own workspace worktree if it
    has one; else the workspace worktree the command was run from (after
    ``cd "$(nexus workspace path NAME)"``); else the project root.

    A workspace name comes from the database, a teammate's ``tasks.jsonl`` or the current folder:
    it is validated and must resolve (after symlinks) inside the project's worktrees folder
    (:func:`nexus_cli.workspaces.worktree.checked`).
    """
    here = None if project.here is None else project.worktree_at(project.here)
    for name, source in ((task.workspace, f"task {task.id}"), (here, "this folder")):
        if name:
            worktree = checked(project, validate.workspace_name(name, source=source), source)
            if worktree.is_dir():
                return worktree
    return project.root
