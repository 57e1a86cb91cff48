"""Starting a workflow stage in a workspace switches that workspace's persona to the stage's.

A workflow stage is a task whose labels say so (``workflow run`` writes them, see
:mod:`nexus_cli.workflows.instantiate`). The switch goes through the persona installer (planned,
checked for conflicts, recorded in the worktree's ``.nexus/personas.lock``), so `nexus persona
remove` or another switch undoes it.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class Switch:
    """A planned switch of a workspace to a stage persona (:func:`plan_for`)."""

    persona: str
    plan: installer.Plan | None  # None: the persona is already the workspace's only one

    def apply(self) -> str:
        if self.plan is not None:
            installer.apply(self.plan)
        return self.persona


def plan_for(project: Project, task: Task) -> Switch | None:
    """The switch of the task's workspace to its stage persona, planned (the persona found and
    loaded, conflicts checked) but not made: a start asks for it before the task moves, so that
    a persona that is missing or in the way refuses the start with nothing changed.

    None for tasks that are not workflow stages, have no workspace, or whose workspace has no
    worktree.
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
        return Switch(persona, None)
    plan = installer.plan_switch(scope, load(persona, scope.search()))
    installer.check(plan)
    return Switch(persona, plan)


def switch_for(project: Project, task: Task) -> str | None:
    """Switch the task's workspace to its stage persona; returns the persona, or None if no switch.
    A conflict (a file of yours in the way) raises and changes nothing."""
    switch = plan_for(project, task)
    return None if switch is None else switch.apply()
