"""Starting a workflow stage in a workspace switches that workspace's persona to the stage's.

A workflow stage is a task whose labels say so (``workflow run`` writes them, see
:mod:`nexus_cli.workflows.instantiate`). The switch goes through the persona installer (planned,
checked for conflicts, recorded in the worktree's ``.nexus/personas.lock``), so `nexus persona
remove` or another switch undoes it.
"""

from __future__ import annotations

from nexus_cli import validate
from nexus_cli.personas import installer
from nexus_cli.personas.catalog import load
from nexus_cli.project import Project
from nexus_cli.tasks.labels import LABEL_PERSONA, LABEL_STAGE
from nexus_cli.tasks.model import Task
from nexus_cli.workspaces.handle import Workspace


def stage_persona(task: Task) -> str | None:
    """The persona a workflow stage task asks for (checked: labels come from tasks.jsonl)."""
    if not any(label.startswith(LABEL_STAGE) for label in task.labels):
        return None
    for label in task.labels:
        if label.startswith(LABEL_PERSONA):
            name = label[len(LABEL_PERSONA) :]
            return validate.persona_name(name, source=f"task {task.id} label {label!r}")
    return None


def switch_for(project: Project, task: Task) -> str | None:
    """Switch the task's workspace to its stage persona; returns the persona, or None if no switch.

    Nothing happens for tasks that are not workflow stages, have no workspace, or whose workspace
    has no worktree. A conflict (a file of yours in the way) raises and changes nothing.
    """
    persona = stage_persona(task)
    if persona is None or not task.workspace:
        return None
    worktree = Workspace(
        project, task.workspace, source=f"task {task.id} workspace"
    ).existing_worktree()
    if worktree is None:
        return None
    scope = installer.project_scope(worktree)
    if list(installer.active(scope)) == [persona]:
        return persona
    plan = installer.plan_switch(scope, load(persona, scope.search()))
    installer.apply(plan)
    return persona
