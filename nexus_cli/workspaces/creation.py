"""Creating a workspace: its name reserved in a journalled record, the worktree made while the
engine prepares images, network and volumes, the template's files and ignored files brought in,
host ports allocated, the services started; any failure (or Ctrl-C, SIGTERM, the deadline) undoes
what the create made (:class:`~nexus_cli.workspaces.rollback.Rollback`).

Docker is needed only by templates with services: the ``bare`` template and every git-only step
work without an engine.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nexus_cli import deadlines, engine, git, owner, ownership, safe_path, validate
from nexus_cli.errors import ConflictError, NexusError
from nexus_cli.telemetry.journal import invocation
from nexus_cli.workspaces import exposure, host_hooks, records
from nexus_cli.workspaces.container_waits import ServiceFailedError
from nexus_cli.workspaces.handle import Workspace
from nexus_cli.workspaces.host_ports import allocate as allocate_host_ports
from nexus_cli.workspaces.host_ports import check_names as host_port_names
from nexus_cli.workspaces.host_ports import check_total as check_host_port_total
from nexus_cli.workspaces.host_ports import hook_environment
from nexus_cli.workspaces.include import INCLUDE_FILE, Included, bring_ignored_files
from nexus_cli.workspaces.include import check_mode as check_include_mode
from nexus_cli.workspaces.lifecycle import (
    DEFAULT_HEALTH_TIMEOUT_S,
    telemetry_label,
    template_for,
    up_with_hooks,
)
from nexus_cli.workspaces.preparation import new_at_head, worktree_while_preparing
from nexus_cli.workspaces.progress import Progress, Silent
from nexus_cli.workspaces.rollback import Rollback, reserve, worktree_steps
from nexus_cli.workspaces.services_up import UpResult
from nexus_cli.workspaces.template_model import (
    CONTAINER_HOOK_EVENTS,
    HookCheck,
    Template,
    refuse_repository_hooks,
)
from nexus_cli.workspaces.templates import resolve_in_worktree

if TYPE_CHECKING:
    from nexus_cli.project import Project
    from nexus_cli.workspaces.ports import Allocation

# The overall deadline of one `workspace create` (image pulls included): every git call and wait
# inside ends by then, and the create is undone (docs/security.md lists the deadlines).
CREATE_DEADLINE_S = 3600.0


@dataclass(slots=True)
class CreateResult:
    name: str
    path: Path
    branch: str
    template: str
    files_written: list[str] = field(default_factory=list)
    up: UpResult | None = None  # set once the services started
    host_ports: dict[str, int] = field(default_factory=dict)  # name -> port for host processes
    included: Included = field(default_factory=Included)  # ignored files from .worktreeinclude

    @property
    def ports(self) -> list[Allocation]:
        return self.up.ports if self.up else []

    def to_json(self) -> dict[str, Any]:
        """What ``workspace create --json`` prints and the MCP tool returns."""
        return {
            "name": self.name,
            "path": str(self.path),
            "branch": self.branch,
            "template": self.template,
            "files_written": list(self.files_written),
            "ports": [a.to_json() for a in self.ports],
            "host_ports": dict(self.host_ports),
            "included": list(self.included.copied),
            "included_refused": [{"path": p, "reason": r} for p, r in self.included.refused],
        }


def create(
    workspace: Workspace,
    *,
    template_name: str = "bare",
    from_ref: str | None = None,
    variables: dict[str, str] | None = None,
    start: bool = True,
    bind_address: str | None = None,
    progress: Progress | None = None,
    health_timeout_s: float = DEFAULT_HEALTH_TIMEOUT_S,
    keep_on_failure: bool = False,
    host_ports: list[str] | None = None,
    ignored_files: str = "copy",
    hooks: host_hooks.HostHooks = host_hooks.NONE,
    compose: str | None = None,
    profiles: list[str] | None = None,
    container_hooks: HookCheck = refuse_repository_hooks,
) -> CreateResult:
    """Create the worktree, write the template's files, record it, and start its services.

    ``compose`` (a path relative to the project root) runs the project's own Compose file
    instead of a template, with its ``profiles`` selected (see :mod:`compose`).

    All or nothing: the name is reserved under the project's lock (so of simultaneous creates of
    one name exactly one proceeds), each step is journalled in the record before it is made, and
    on any failure or interrupt what this call made is removed again (see
    :mod:`~nexus_cli.workspaces.rollback`) unless ``keep_on_failure``. What a killed create left
    is undone first when its name is created again.

    ``container_hooks`` decides whether the template's container hooks may run (a repository's
    only once a person approved them: :func:`nexus_cli.tasks.workspace_hooks.container_hooks`);
    it is asked before anything is made, so a refused create leaves nothing behind.
    """
    with ownership.operation() as me, deadlines.deadline_after(CREATE_DEADLINE_S):
        return _create_as(
            me,
            workspace,
            template_name=template_name,
            from_ref=from_ref,
            variables=variables,
            start=start,
            bind_address=bind_address,
            progress=progress,
            health_timeout_s=health_timeout_s,
            keep_on_failure=keep_on_failure,
            host_ports=host_ports,
            ignored_files=ignored_files,
            hooks=hooks,
            compose=compose,
            profiles=profiles,
            container_hooks=container_hooks,
        )


def _create_as(
    me: owner.Owner,
    workspace: Workspace,
    *,
    template_name: str,
    from_ref: str | None,
    variables: dict[str, str] | None,
    start: bool,
    bind_address: str | None,
    progress: Progress | None,
    health_timeout_s: float,
    keep_on_failure: bool,
    host_ports: list[str] | None,
    ignored_files: str,
    hooks: host_hooks.HostHooks,
    compose: str | None,
    profiles: list[str] | None,
    container_hooks: HookCheck,
) -> CreateResult:
    progress = progress or Silent()
    project, name = workspace.project, workspace.name
    validate.template_name(template_name)
    values = validate.template_variables(dict(variables or {}))
    extra_host_ports = host_port_names(host_ports or [])
    check_include_mode(ignored_files)
    refs = git.head_and_branch(project.root, name)  # fails early in a repository with no commit
    bind = exposure.choose_bind_address(project, bind_address)
    if bind.notice is not None:
        progress.say(bind.notice)
    record = records.WorkspaceRecord(
        name=name,
        template=template_name,
        branch=workspace.branch,
        variables=values,
        bind_address=bind.address,
        compose=compose or "",
        profiles=list(profiles or []),
        creating={"owner": me.to_json()},
    )
    template = template_for(workspace, record)
    wanted = check_host_port_total([*template.host_ports, *extra_host_ports])
    if template.services and start:  # the hooks run once the services started
        container_hooks(template, CONTAINER_HOOK_EVENTS)
    exposure.remember_choice(project, name, bind.address)  # once the template and ports are valid
    docker = bool(template.services and start)  # reached while git makes the worktree
    if hooks.of("pre_create"):
        _refuse_taken(name, records.load_all(project.state_dir))  # before the hook runs for nothing
        host_hooks.run(
            hooks,
            "pre_create",
            cwd=project.root,
            env=hook_environment(workspace),
            progress=progress,
        )
    # The record that reserves the name journals the worktree's steps already (one write less
    # before git starts); what differs after a killed create's undo is written when it comes.
    record.creating.update(
        worktree_steps(workspace, docker=docker, branch=new_at_head(refs, from_ref))
    )
    if _reserve(workspace, record):  # a killed create's branch may be gone now
        refs = git.head_and_branch(project.root, name)
    undo = Rollback(workspace, None, record.creating)  # the client once connected
    try:
        path, prepare_error, pull_ms = worktree_while_preparing(
            workspace, from_ref, refs, docker, template, progress, undo
        )
        client = undo.client
        if template.services:
            record.engine = engine.current().host
        files = _write_files(path, template)
        result = CreateResult(name, path, workspace.branch, template.name, files)
        result.included = bring_ignored_files(project.root, path, ignored_files)
        for rel, why in result.included.refused:
            progress.say(f"{INCLUDE_FILE}: not copying {rel!r}: {why}")
        if wanted:
            undo.intend(ports=True)
            result.host_ports = {
                a.service: a.host_port
                for a in allocate_host_ports(workspace, wanted, record.bind_address)
            }
        if result.files_written:
            record.generated_files = {
                rel: _sha256(template.files[rel]) for rel in result.files_written
            }
            _write_record(project, record)
        if prepare_error is not None:
            raise prepare_error
        if client is not None:
            undo.intend(ports=True)
            health_s = min(health_timeout_s, deadlines.time_left() or health_timeout_s)
            result.up = up_with_hooks(
                client,
                workspace,
                record,
                template,
                progress,
                health_s,
                prepared=pull_ms,
                in_create=True,
            )
        host_hooks.run(
            hooks, "post_create", cwd=path, env=hook_environment(workspace), progress=progress
        )
        _finish_record(project, record)
    except BaseException as exc:
        if keep_on_failure:
            with contextlib.suppress(NexusError):  # kept on purpose: no later run may undo it
                _finish_record(project, record)
            if isinstance(exc, NexusError) and exc.hint is None:
                exc.hint = f"kept what was made (--keep-on-failure); fix it with `nexus workspace up {name}`"
            raise
        removed = undo.run()
        if isinstance(exc, ServiceFailedError) and removed:  # its logs went with its container
            exc.hint = (
                f"to see the rest of its logs, keep what was made: rerun with --keep-on-failure,"
                f" then `nexus workspace logs {name} {exc.service}`"
            )
        if isinstance(exc, NexusError) and removed:
            note = f"removed what this create had made ({', '.join(removed)}); rerun it when fixed"
            exc.hint = f"{exc.hint}; {note}" if exc.hint else note
        raise
    invocation.note(
        event_type="workspace",
        workspace=name,
        template_used=telemetry_label(template),
        services_count=len(template.services),
        workspaces_created=1,
    )
    return result


def _reserve(workspace: Workspace, record: records.WorkspaceRecord) -> bool:
    """Write the record first, under the lock: the one create that does so owns the name. A
    create of this name that was killed is undone first (its journal, taken over): True then."""
    stale = reserve(workspace.project.state_dir, record)
    if stale is not None:
        Rollback(workspace, None, stale.creating).run()
        if reserve(workspace.project.state_dir, record) is not None:
            raise ConflictError(
                f"workspace {record.name!r} already exists (another process is creating it)"
            )
    return stale is not None


def _finish_record(project: Project, record: records.WorkspaceRecord) -> None:
    """The create is over (done, or kept with --keep-on-failure): its journal goes, and whether
    its post_create hooks ran is written with it."""
    record.creating = {}
    with records.editing(project.state_dir) as all_records:
        if record.name in all_records:
            all_records[record.name].creating = {}
            all_records[record.name].engine = record.engine  # known once it was reached
            if record.post_create_done:
                all_records[record.name].post_create_done = True


def _write_record(project: Project, record: records.WorkspaceRecord) -> None:
    """Store this create's record as it is now (the name is this create's: it reserved it)."""
    with records.editing(project.state_dir) as all_records:
        all_records[record.name] = record


def _refuse_taken(name: str, all_records: dict[str, records.WorkspaceRecord]) -> None:
    """A workspace of this name exists (one a killed create left is taken over later)."""
    if name in all_records and not all_records[name].creating:
        raise ConflictError(
            f"workspace {name!r} already exists",
            hint=f"use `nexus workspace up {name}` to start it",
        )


def _write_files(worktree: Path, template: Template) -> list[str]:
    """Write the template's files into the worktree when absent; never overwrite.

    Each path must resolve (after symlinks committed to the repository) inside the worktree, and
    is written by :func:`safe_path.write_atomic`, which opens every folder from the worktree down
    without following links (a link on the way is refused, not followed).
    """
    written: list[str] = []
    for rel, content in template.files.items():
        target = resolve_in_worktree(
            worktree, rel, template=template.path, key=f"x-nexus.files.{rel}"
        )
        if os.path.lexists(worktree / rel) or target.exists():
            continue
        safe_path.write_atomic(worktree, rel, content, makedirs=True)
        written.append(rel)
    return written


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
