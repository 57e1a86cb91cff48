"""What is really there: reconcile records, ``git worktree list`` and containers; repair drift.

``list`` and ``status`` never need a Docker engine: when it is down, container state is reported
as unknown and everything git knows is still shown.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nexus_cli import engine, git, owner, ownership, project_id, validate
from nexus_cli.errors import ConflictError, DockerUnavailableError, NexusError, StateError
from nexus_cli.paths import nexus_home
from nexus_cli.plural import plural
from nexus_cli.telemetry.journal import invocation
from nexus_cli.workspaces import (
    docker_services,
    forwards,
    git_worktrees,
    ports,
    records,
    rollback,
)
from nexus_cli.workspaces.handle import Workspace, project_id_of, service_of, workspace_of
from nexus_cli.workspaces.lifecycle import template_for

if TYPE_CHECKING:
    from nexus_cli.project import Project


@dataclass
class ServiceView:
    service: str
    container: str
    status: str  # running, exited, created, missing, unknown
    health: str | None = None
    ports: dict[str, int] = field(default_factory=dict)


@dataclass
class WorkspaceView:
    name: str
    path: str
    branch: str | None
    template: str | None
    state: str  # ready, running, stopped, partial, broken, untracked, unknown
    worktree: str  # ok, missing, unregistered, unsafe, tampered
    services: list[ServiceView] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)
    uncommitted: int | None = None
    # The engine of the services: {"endpoint", "remote"}; None for a workspace without any.
    engine: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """What ``workspace status --json`` prints and the MCP tool returns."""
        return asdict(self)


@dataclass
class Overview:
    workspaces: list[WorkspaceView]
    engine: str  # "ok", "not needed" or the unavailability message

    def to_json(self) -> dict[str, Any]:
        """What ``workspace list --json`` prints and the MCP tool returns."""
        return {"engine": self.engine, "workspaces": [v.to_json() for v in self.workspaces]}


@dataclass
class StatusResult:
    view: WorkspaceView
    engine: str  # as in Overview

    def to_json(self) -> dict[str, Any]:
        return self.view.to_json()


@dataclass
class RepairResult:
    done: dict[str, list[str]]  # workspace -> what was done, in words

    def to_json(self) -> list[dict[str, Any]]:
        return [{"name": name, "actions": actions} for name, actions in self.done.items()]


def list_workspaces(project: Project) -> Overview:
    """``workspace list``: every workspace, reconciled (see :func:`overview`)."""
    invocation.note(event_type="workspace")
    return overview(project)


def status(workspace: Workspace) -> StatusResult:
    """``workspace status``: one workspace, reconciled (see :func:`overview`)."""
    invocation.note(event_type="workspace", workspace=workspace.name)
    result = overview(workspace.project, only=workspace.name)
    return StatusResult(result.workspaces[0], result.engine)


def _expected_services(project: Project, record: records.WorkspaceRecord) -> list[str] | None:
    try:
        return list(template_for(Workspace(project, record.name), record, names_only=True).services)
    except NexusError:
        return None


def _may_have_containers(project: Project, known: set[str]) -> bool:
    """Whether containers of this project may exist although no workspace record expects any:
    the project has used an engine (:data:`records.ENGINE_MARKER`), or a worktree folder has no
    record (a workspace whose record was lost, and with it what its template started)."""
    if records.engine_used(project.state_dir):
        return True
    try:
        return any(entry.name not in known for entry in project.worktrees_dir.iterdir())
    except OSError:
        return False


def _containers(
    project: Project, needed: bool, known: set[str]
) -> tuple[dict[str, list[Any]], str]:
    """Containers by workspace. The engine is asked (to find orphans) when some workspace has
    services or containers may be left over; being unavailable only matters in the first case."""
    if not needed and not _may_have_containers(project, known):
        return {}, "not needed"  # the Docker SDK is not even loaded
    try:
        client = engine.connect()
    except DockerUnavailableError as exc:
        return {}, exc.message if needed else "not needed"
    by_workspace: dict[str, list[Any]] = {}
    for container in docker_services.project_containers(client, project_id_of(project)):
        by_workspace.setdefault(workspace_of(container.labels), []).append(container)
    return by_workspace, "ok"


def overview(project: Project, only: str | None = None) -> Overview:
    """Reconcile the three sources into one view per workspace name."""
    recs = records.load_all(project.state_dir)
    known = set(recs)
    if only is not None:
        recs = {only: records.get(project.state_dir, only)}
    expected = {name: _expected_services(project, rec) for name, rec in recs.items()}
    trees = {
        info.path.name: info
        for info in git_worktrees.list_worktrees(project).values()
        if info.path.parent == project.worktrees_dir
    }
    needs_engine = any(s is None or s for s in expected.values())
    containers, engine_state = _containers(project, needs_engine, known)
    found = set(recs) | ({only} if only else set(trees) | set(containers))
    # folders and container labels are not Nexus's own: names that are not valid are skipped
    names = {n for n in found if validate.is_valid(validate.workspace_name, n)}
    views = [
        _view(
            project,
            n,
            recs.get(n),
            trees.get(n),
            containers.get(n, []),
            expected.get(n),
            engine_state,
        )
        for n in sorted(names)
    ]
    _count_uncommitted(project, [v for v in views if v.worktree == "ok"])
    return Overview(views, engine_state)


STATUS_WORKERS = 8  # `git status` processes at once: each mostly waits on the file system


def _count_uncommitted(project: Project, views: list[WorkspaceView]) -> None:
    """Fill in each view's uncommitted changes: one ``git status`` per worktree, run side by
    side when there are several (52 worktrees: 0.58 s one after the other on 2 cores)."""
    if len(views) < 2:
        for view in views:
            view.uncommitted = _uncommitted(project, view)
        return
    with ThreadPoolExecutor(min(STATUS_WORKERS, len(views))) as pool:
        counts = pool.map(lambda v: _uncommitted(project, v), views)
        for view, count in zip(views, counts, strict=True):
            view.uncommitted = count


def _view(
    project: Project,
    name: str,
    record: records.WorkspaceRecord | None,
    tree: git_worktrees.WorktreeInfo | None,
    containers: list[Any],
    expected: list[str] | None,
    engine_state: str,
) -> WorkspaceView:
    workspace = Workspace(project, name)
    try:
        path = workspace.worktree
        unsafe = None
    except StateError as exc:
        path, unsafe = workspace.worktree_unchecked, exc.message
    view = WorkspaceView(
        name=name,
        path=str(path),
        branch=tree.branch if tree else (record.branch if record else None),
        template=record.template if record else None,
        state="ready",
        worktree=_worktree_state(path, tree),
    )
    _note_git_drift(view, record, tree)
    if view.worktree == "ok":
        _check_pointer(project, view, path)
    if unsafe is not None:
        view.worktree = "unsafe"
        view.drift.append(unsafe)
    if record is None and containers:
        view.drift.append(
            f"{plural(len(containers), 'container')} labelled for it but no Nexus record"
        )
    view.services = _service_views(expected or [], containers, engine_state)
    if expected or containers:
        _note_engine(view, workspace, record)
    view.state = _state(view, record, expected, engine_state)
    return view  # uncommitted changes: counted for every "ok" worktree by the caller


def _note_engine(
    view: WorkspaceView, workspace: Workspace, record: records.WorkspaceRecord | None
) -> None:
    """Which engine runs the services; behind an ssh engine the ports shown are the local
    forwards (a published port without a live forward is drift)."""
    where = engine.Endpoint(record.engine, "record") if record and record.engine else None
    where = where or engine.current()
    view.engine = {"endpoint": where.host, "remote": where.remote, "kind": where.kind}
    if where.scheme != "ssh":
        return
    local = {
        (f.service, f.container_port): f.local_port
        for f in forwards.of_workspace(workspace.project_id, workspace.name)
        if f.alive()
    }
    for service in view.services:
        shown: dict[str, int] = {}
        for key in service.ports:
            port, _, proto = key.partition("/")
            forwarded = local.get((service.service, int(port)))
            if forwarded is not None:
                shown[key] = forwarded
            elif service.status == "running" and proto == "tcp":
                view.drift.append(
                    f"port {key} of {service.service} is not forwarded here; run "
                    f"`nexus workspace up {view.name}`"
                )
        service.ports = shown


def _check_pointer(project: Project, view: WorkspaceView, path: Path) -> None:
    """Mark a worktree whose ``.git`` file no longer points at the repository's git dir (a
    container or a script rewrote it): its git data is then never read, and repair restores it."""
    try:
        git_worktrees.check_pointer(project, path)
    except git.GitError as exc:
        view.worktree = "tampered"
        view.drift.append(f"{exc.message}; run `nexus workspace repair {view.name}`")


def _uncommitted(project: Project, view: WorkspaceView) -> int | None:
    try:
        return len(git_worktrees.uncommitted_changes(project, Path(view.path)))
    except git.TamperedWorktreeError as exc:  # changed since _check_pointer looked
        view.drift.append(exc.message)
        return None


def _worktree_state(path: Path, tree: git_worktrees.WorktreeInfo | None) -> str:
    if not (path / ".git").exists():
        return "missing"
    return "ok" if tree is not None else "unregistered"


def _note_git_drift(
    view: WorkspaceView,
    record: records.WorkspaceRecord | None,
    tree: git_worktrees.WorktreeInfo | None,
) -> None:
    if record is None:
        view.drift.append("worktree without a Nexus record")
    if view.worktree == "missing":
        view.drift.append(
            f"worktree folder is missing; run `nexus workspace repair {view.name}`"
            + (" (git still lists it)" if tree is not None else "")
        )
    elif view.worktree == "unregistered":
        view.drift.append(
            f"folder is not a registered git worktree; run `nexus workspace repair {view.name}`"
        )
    if tree is not None and tree.locked:
        view.drift.append("worktree entry is locked")
    if tree is not None and tree.branch not in (None, view.name):
        view.drift.append(f"worktree is on branch {tree.branch!r}, expected {view.name!r}")


def _service_views(
    expected: list[str], containers: list[Any], engine_state: str
) -> list[ServiceView]:
    by_service = {service_of(c.labels): c for c in containers}
    views: list[ServiceView] = []
    for service in dict.fromkeys([*expected, *by_service]):
        container = by_service.get(service)
        if container is None:
            status = "unknown" if engine_state not in ("ok", "not needed") else "missing"
            views.append(ServiceView(service, "", status))
            continue
        health = (container.attrs.get("State", {}).get("Health") or {}).get("Status")
        ports = {
            f"{p}/{proto}": h
            for (p, proto), h in docker_services.published_ports(container).items()
        }
        views.append(ServiceView(service, container.name, container.status, health, ports))
    return views


def _state(
    view: WorkspaceView,
    record: records.WorkspaceRecord | None,
    expected: list[str] | None,
    engine_state: str,
) -> str:
    if record is None:
        return "untracked"
    if view.worktree != "ok":
        return "broken"
    if not view.services:
        return "ready"
    if engine_state not in ("ok", "not needed"):
        return "unknown"
    running = [s for s in view.services if s.status == "running"]
    if len(running) == len(view.services):
        return "running"
    return "stopped" if not running else "partial"


def repair(
    project: Project, workspace: Workspace | None = None, *, adopt_project_id: str | None = None
) -> RepairResult:
    """Undo creates that were killed half-way (their journal), restore missing worktrees from
    their branches, prune stale entries, unlock locked ones.

    ``adopt_project_id`` first writes that id back as the project id (a lost or corrupt file).
    """
    invocation.note(event_type="workspace", **({"workspace": workspace.name} if workspace else {}))
    if adopt_project_id is not None:
        project_id.adopt(project, adopt_project_id)
    recs = records.load_all(project.state_dir)
    if workspace is not None:
        recs = {workspace.name: workspace.record()}
    done: dict[str, list[str]] = {}
    with ownership.operation() as me:
        for name in sorted(recs):
            undone = _undo_interrupted_create(project, name, me)
            if undone is not None:
                done[name] = undone
    for name in sorted(set(recs) - set(done)):
        done[name] = git_worktrees.repair_worktree(
            workspace if workspace is not None else Workspace(project, name)
        )
    _repair_forwards(project, recs, done, whole=workspace is None)
    if workspace is None:
        _release_ports_of_missing(project, done)
    return RepairResult(done)


def _release_ports_of_missing(project: Project, done: dict[str, list[str]]) -> None:
    """Free the ports the table still holds for workspaces of this project that no longer exist
    (a delete run under another NEXUS_HOME, a state folder put back from an older copy)."""
    removed = ports.release_unless(
        nexus_home(),
        project_id_of(project),
        lambda: set(records.load_all(project.state_dir)),
    )
    for name, count in sorted(removed.items()):
        done.setdefault(name, []).append(
            f"freed {plural(count, 'port')} held for it (the workspace no longer exists)"
        )


def _repair_forwards(
    project: Project,
    recs: dict[str, records.WorkspaceRecord],
    done: dict[str, list[str]],
    *,
    whole: bool,
) -> None:
    """Forget the records of port forwards whose ssh is gone (stale); end the forwards of
    workspaces of this project that no longer exist (their next ``up`` forwards again)."""
    ours = project_id_of(project)
    for forward in forwards.forget_stale():
        if forward.project_id == ours and (whole or forward.workspace in recs):
            done.setdefault(forward.workspace, []).append(
                f"forgot the stale port forward 127.0.0.1:{forward.local_port} (ssh gone)"
            )
    if not whole:
        return
    for name in sorted({f.workspace for f in forwards.load() if f.project_id == ours} - set(recs)):
        ended = forwards.stop(ours, name)
        done.setdefault(name, []).append(f"ended {ended} port forward(s) of a deleted workspace")


def _undo_interrupted_create(project: Project, name: str, me: owner.Owner) -> list[str] | None:
    """What a killed ``workspace create`` of ``name`` had made, removed (None: not one)."""
    try:
        with records.editing(project.state_dir) as all_records:
            record = all_records.get(name)
            stale = None if record is None else rollback.take_over_stale(record, me.to_json())
    except ConflictError:
        return ["left alone: another process is creating it"]
    if stale is None:
        return None
    workspace = Workspace(project, name)
    removed = rollback.Rollback(workspace, None, stale.creating).run()
    return [f"removed what an interrupted create had made: {', '.join(removed) or 'its record'}"]
