"""Up, down and sync a workspace: the orchestration over git, Docker, ports and records (its
create is :mod:`nexus_cli.workspaces.creation`, its delete :mod:`nexus_cli.workspaces.deletion`).

Docker is needed only by templates with services: the ``bare`` template and every git-only step
work without an engine.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nexus_cli import engine, git
from nexus_cli.errors import NexusError
from nexus_cli.telemetry.journal import invocation
from nexus_cli.workspaces import docker_services, forwards, git_worktrees, records, remote
from nexus_cli.workspaces.compose import load_compose
from nexus_cli.workspaces.handle import Workspace
from nexus_cli.workspaces.hook_exec import run_hooks
from nexus_cli.workspaces.progress import Progress, Silent
from nexus_cli.workspaces.services_up import UpResult, all_running, bring_up
from nexus_cli.workspaces.template_model import HookCheck, Template, refuse_repository_hooks
from nexus_cli.workspaces.templates import load_template

if TYPE_CHECKING:
    from nexus_cli.project import Project

DEFAULT_HEALTH_TIMEOUT_S = 120.0


@dataclass(slots=True, frozen=True)
class DownResult:
    name: str
    stopped: int  # containers stopped and removed

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "stopped": self.stopped}


def telemetry_label(template: Template) -> str:
    """What telemetry may store about a template: a built-in's name, else "custom"."""
    return template.name if template.origin == "builtin" else "custom"


def template_for(
    workspace: Workspace, record: records.WorkspaceRecord, *, names_only: bool = False
) -> Template:
    """The workspace's template as its record made it. ``names_only``: for a caller that needs
    only the services' names, so that a project's Compose file reading a variable of yours you
    did not name for this run reads it as unset instead of failing (`exec`, `down`, status)."""
    values = {
        **record.variables,
        "NEXUS_WORKSPACE": workspace.name,
        "NEXUS_PROJECT_ID": workspace.project_id,
    }
    if record.compose:
        return load_compose(
            workspace.project.root,
            record.compose,
            profiles=record.profiles,
            values=values,
            lenient_env=names_only,
        )
    return load_template(record.template, workspace.project.root, values, names_only=names_only)


def connect(project: Project) -> Any:
    records.note_engine_use(project.state_dir)
    return engine.connect()


def up_with_hooks(
    client: Any,
    workspace: Workspace,
    record: records.WorkspaceRecord,
    template: Template,
    progress: Progress,
    health_timeout_s: float,
    prepared: float | None = None,
    in_create: bool = False,
    before_start: Callable[[], None] | None = None,
) -> UpResult:
    """Start the services, then the hooks; ``prepared`` is the pull time (ms) when this create
    already made the images, network and volumes ready (see :func:`services_up.bring_up`).

    ``in_create``: that the post_create hooks ran is kept in ``record`` and written when the
    create ends (:func:`_finish_record`, one write with the journal's removal); a create that
    fails before is undone, hooks and all."""
    project = workspace.project
    result = bring_up(
        client,
        workspace,
        record,
        template,
        progress,
        health_timeout_s,
        prepared=prepared,
        before_start=before_start,
    )
    invocation.metric("port_allocation_attempts", result.attempts)
    invocation.note(ports_used=len(result.ports))
    if not record.post_create_done:  # on create, or on the first `up` after --no-start
        run_hooks(
            client,
            workspace,
            template.hooks.get("post_create", []),
            "post_create",
            progress,
        )
        record.post_create_done = True
        if not in_create:
            with records.editing(project.state_dir) as all_records:
                if record.name in all_records:
                    all_records[record.name].post_create_done = True
    if result.started:
        run_hooks(
            client,
            workspace,
            template.hooks.get("post_start", []),
            "post_start",
            progress,
        )
    return result


def require_worktree(workspace: Workspace) -> Path:
    """The workspace's worktree; an error when it is missing or its ``.git`` file was changed
    (containers are never started on a worktree that points at another git dir)."""
    path = workspace.worktree
    if not os.path.lexists(path / ".git"):
        raise NexusError(
            f"the worktree of {workspace.name!r} is missing ({path})",
            hint=f"run `nexus workspace repair {workspace.name}` to restore it from its branch",
            category="not_found",
        )
    try:
        git_worktrees.check_pointer(workspace.project, path)
    except git.TamperedWorktreeError as exc:
        exc.hint = f"run `nexus workspace repair {workspace.name}` to restore it"
        raise
    return path


def up(
    workspace: Workspace,
    *,
    progress: Progress | None = None,
    health_timeout_s: float = DEFAULT_HEALTH_TIMEOUT_S,
    container_hooks: HookCheck = refuse_repository_hooks,
) -> UpResult:
    """Start the services that are not running as planned (see :func:`services_up.bring_up`).

    ``container_hooks`` is asked (as by :func:`create`) before anything starts: for the
    post_create hooks when they have not run yet, and for the post_start ones only when some
    service will start (they run only then)."""
    progress = progress or Silent()
    record = workspace.record()
    invocation.note(event_type="workspace", workspace=workspace.name)
    template = template_for(workspace, record)
    require_worktree(workspace)
    invocation.note(template_used=telemetry_label(template), services_count=len(template.services))
    if not template.services:
        return UpResult()
    if not record.post_create_done:
        container_hooks(template, ("post_create",))
    client = connect(workspace.project)
    if not all_running(client, workspace, template):  # asked before anything is made
        container_hooks(template, ("post_start",))
    return up_with_hooks(
        client,
        workspace,
        record,
        template,
        progress,
        health_timeout_s,
        before_start=lambda: container_hooks(template, ("post_start",)),
    )


def down(workspace: Workspace) -> DownResult:
    """Stop and remove the containers (volumes, network and port allocations stay)."""
    record = workspace.record()
    invocation.note(event_type="workspace", workspace=workspace.name)
    template = template_for(workspace, record, names_only=True)
    invocation.note(template_used=telemetry_label(template))
    forwards.stop(workspace.project_id, workspace.name)  # a remote engine's port forwards
    if not template.services:
        return DownResult(workspace.name, 0)
    client = connect(workspace.project)
    return DownResult(workspace.name, docker_services.stop_containers(client, workspace))


def sync(workspace: Workspace, *, pull: bool = False) -> remote.SyncResult:
    """``workspace sync``: on a remote engine, copy the worktree into the workspace's volumes
    (or, with ``pull``, the container's changes back; see :mod:`remote`)."""
    record = workspace.record()
    invocation.note(event_type="workspace", workspace=workspace.name)
    template = template_for(workspace, record)
    require_worktree(workspace)
    where = engine.current()
    direction = "pull" if pull else "push"
    if not template.services:
        return remote.SyncResult(workspace.name, direction, reason="no services: nothing to sync")
    if not where.remote:
        reason = f"the engine at {where.host} is local: its services see the worktree itself"
        return remote.SyncResult(workspace.name, direction, reason=reason)
    client = connect(workspace.project)
    return (
        remote.pull(client, workspace, template)
        if pull
        else remote.push(client, workspace, template)
    )
