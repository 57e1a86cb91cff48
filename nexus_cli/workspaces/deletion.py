"""Deleting a workspace: containers, network, volumes, ports, worktree, and a merged branch."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nexus_cli import engine, safe_path
from nexus_cli.errors import ConflictError, DockerUnavailableError, NexusError
from nexus_cli.paths import nexus_home
from nexus_cli.plural import plural
from nexus_cli.telemetry.journal import invocation
from nexus_cli.workspaces import (
    docker_services,
    exposure,
    forwards,
    git_worktrees,
    host_hooks,
    ports,
    records,
)
from nexus_cli.workspaces.host_ports import hook_environment
from nexus_cli.workspaces.lifecycle import template_for
from nexus_cli.workspaces.progress import Silent

if TYPE_CHECKING:
    from nexus_cli.workspaces.handle import Workspace


@dataclass
class DeleteResult:
    name: str
    removed: dict[str, int] = field(default_factory=dict)
    branch_deleted: bool = False
    branch_kept_reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        """What ``workspace delete --json`` prints."""
        return asdict(self)


def _unchanged_generated(path: Path, record: records.WorkspaceRecord) -> set[str]:
    """Template-written files still exactly as Nexus wrote them: deleting them loses nothing."""
    same: set[str] = set()
    for rel, digest in record.generated_files.items():
        try:
            if hashlib.sha256(safe_path.read_bytes(path, rel)).hexdigest() == digest:
                same.add(rel)
        except (OSError, NexusError):  # gone, or a link now: not Nexus's file as written
            continue
    return same


def uncommitted(workspace: Workspace, record: records.WorkspaceRecord) -> list[str]:
    """``git status --porcelain`` lines of the worktree, less the files the template wrote that
    are still exactly as written."""
    path = workspace.worktree
    generated = _unchanged_generated(path, record)
    return [
        line
        for line in git_worktrees.uncommitted_changes(workspace.project, path)
        if not (line.startswith("?? ") and line[3:].strip('"') in generated)
    ]


def what_would_be_lost(workspace: Workspace, record: records.WorkspaceRecord) -> list[str]:
    """Uncommitted changes and unmerged commits that deleting the workspace would throw away."""
    name = workspace.branch
    lost: list[str] = []
    changes = uncommitted(workspace, record)
    if changes:
        lost.append(f"{plural(len(changes), 'uncommitted change')} in the worktree")
    unmerged = git_worktrees.unmerged_commits(workspace.project, name)
    if unmerged:
        lost.append(f"{plural(unmerged, 'commit')} on branch {name!r} not merged into HEAD")
    return lost


def delete(
    workspace: Workspace,
    *,
    force: bool = False,
    keep_branch: bool = False,
    keep_volumes: bool = False,
    confirm: Callable[[], None] | None = None,
    hooks: host_hooks.HostHooks = host_hooks.NONE,
) -> DeleteResult:
    """Delete ``workspace``; ``confirm`` (if given) runs after the safety checks and before
    anything is removed, and stops the deletion by raising."""
    project, name = workspace.project, workspace.name
    record = workspace.record()
    invocation.note(event_type="workspace", workspace=name)
    lost = what_would_be_lost(workspace, record)
    if keep_branch:
        lost = [item for item in lost if "not merged" not in item]
    if lost and not force:
        raise ConflictError(
            f"deleting {name!r} would lose " + " and ".join(lost),
            hint="commit or merge first, or pass --force to delete anyway",
        )
    if confirm is not None:
        confirm()
    worktree = workspace.existing_worktree()
    if worktree is not None:
        host_hooks.run(
            hooks, "pre_delete", cwd=worktree, env=hook_environment(workspace), progress=Silent()
        )
    result = DeleteResult(name)
    forwards.stop(workspace.project_id, name)  # a remote engine's port forwards
    has_services = _has_services(workspace, record)
    if has_services:
        result.removed = _remove_docker_objects(
            workspace, required=has_services, keep_volumes=keep_volumes
        )
    ports.release(nexus_home(), workspace.project_id, name)
    exposure.forget_choice(project, name)
    git_worktrees.remove_worktree(workspace)
    if keep_branch:
        result.branch_kept_reason = "--keep-branch"
    else:
        result.branch_deleted = git_worktrees.delete_branch(project, workspace.branch, force=force)
    with records.editing(project.state_dir) as all_records:
        all_records.pop(name, None)
    invocation.signal("workspace_deleted", age_s=int(max(0.0, time.time() - record.created_at)))
    return result


def _has_services(workspace: Workspace, record: records.WorkspaceRecord) -> bool:
    try:
        return bool(template_for(workspace, record, names_only=True).services)
    except NexusError:
        return True  # template gone or broken: clean up by label to be safe


def _remove_docker_objects(
    workspace: Workspace, *, required: bool, keep_volumes: bool
) -> dict[str, int]:
    try:
        client = engine.connect()
    except DockerUnavailableError:
        if required:
            raise
        return {}
    return docker_services.remove_all(client, workspace, keep_volumes=keep_volumes)
