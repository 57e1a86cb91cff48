"""Bringing a workspace's services up: ports, containers, health (the images, network and volumes
are made ready by :mod:`~nexus_cli.workspaces.engine_prep`; the hooks run by
:mod:`~nexus_cli.workspaces.hook_exec`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nexus_cli import engine
from nexus_cli.errors import ConfigError
from nexus_cli.paths import nexus_home
from nexus_cli.telemetry.journal import invocation
from nexus_cli.workspaces import (
    container_waits,
    definition_digest,
    docker_services,
    engine_refusals,
    exposure,
    forwards,
    ports,
    remote,
)
from nexus_cli.workspaces.docker_services import ServicePlan
from nexus_cli.workspaces.engine_prep import prepare_engine
from nexus_cli.workspaces.engine_refusals import PortTakenError
from nexus_cli.workspaces.handle import service_of
from nexus_cli.workspaces.image_build import build_images
from nexus_cli.workspaces.template_model import Template
from nexus_cli.workspaces.templates import resolve_in_worktree

if TYPE_CHECKING:
    from nexus_cli.workspaces.handle import Workspace
    from nexus_cli.workspaces.progress import Progress
    from nexus_cli.workspaces.records import WorkspaceRecord


# How long a service without a healthcheck must stay up after its own start to count as
# started: what exits at its start (a wrong command, a missing file, a script that fails) is
# reported, and the wait costs the create only what is left of the window after the later
# services' starts.
SETTLE_S = 0.2
# A host port that was free when allocated can be taken before the engine binds it (another
# program, another user's workspace): the engine refuses the start, and the ports are allocated
# again, avoiding the refused ones, at most this many times in all.
PORT_ATTEMPTS = 3


@dataclass
class UpResult:
    started: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    ports: list[ports.Allocation] = field(default_factory=list)
    pull_ms: float = 0.0
    attempts: int = 0
    conflicts: int = 0

    def to_json(self) -> dict[str, Any]:
        """What ``workspace up --json`` prints and the MCP tool returns."""
        return {**asdict(self), "ports": [a.to_json() for a in self.ports]}


def bring_up(
    client: Any,
    workspace: Workspace,
    record: WorkspaceRecord,
    template: Template,
    progress: Progress,
    health_timeout_s: float = 120.0,
    prepared: float | None = None,
    before_start: Callable[[], None] | None = None,
) -> UpResult:
    """Start every service of the workspace that is not already running as planned.

    ``prepared``: the pull time (ms) when the caller has just made the images, network and
    volumes ready (:func:`prepare_engine`, run by ``create`` beside the worktree); they are not
    looked up again then. ``before_start`` is called once it is known that some service will
    start, before any container is made (``up`` asks there for the approval of the post_start
    hooks, which run only then: raising stops it with nothing started)."""
    result = UpResult()
    bind = exposure.recorded_address(workspace.project, workspace.name, record.bind_address)
    if bind.notice is not None:
        progress.say(bind.notice)
    record = replace(record, bind_address=bind.address)  # this run's copy: never written back
    where = engine.current()
    if where.remote:  # published on the engine host's loopback; forwarded here (forwards.py)
        record = replace(record, bind_address="127.0.0.1")
    if prepared is None:
        result.pull_ms = prepare_engine(client, workspace, template, progress)
    else:  # made ready (and its pull time recorded) by create, while git made the worktree
        result.pull_ms = prepared
    build_images(client, workspace, template, progress)  # from the worktree: it exists now
    if where.remote:
        progress.begin("sync worktree")
        remote.push(client, workspace, template)
        progress.end("sync worktree")
    running = _running(client, workspace)
    refused: set[int] = set()
    for attempt in range(1, PORT_ATTEMPTS + 1):
        allocations = _allocate_ports(
            workspace, record, template, running, result, progress, frozenset(refused)
        )
        try:
            _start_services(
                client,
                workspace,
                record,
                template,
                allocations,
                running,
                result,
                progress,
                health_timeout_s,
                before_start,
            )
            break
        except PortTakenError as exc:
            if attempt == PORT_ATTEMPTS:
                raise
            refused.add(exc.port)
            progress.say(f"port {exc.port} of {exc.service} was taken meanwhile; trying another")
            invocation.signal("port_conflict", port=exc.port)
            running = _running(client, workspace)
    result.kept = [name for name in result.kept if name not in result.started]
    if where.scheme == "ssh":
        for attempt in range(1, PORT_ATTEMPTS + 1):
            try:
                _forward(client, workspace, result, progress)
                break
            except forwards.LocalPortTakenError as exc:  # taken since allocated: another
                if attempt == PORT_ATTEMPTS:
                    raise
                refused.add(exc.port)
                progress.say(f"local port {exc.port} was taken meanwhile; trying another")
                invocation.signal("port_conflict", port=exc.port)
                _allocate_ports(
                    workspace, record, template, {}, result, progress, frozenset(refused)
                )
    elif where.remote and result.ports:
        progress.say(forwards.TCP_NOTICE)
    return result


def _forward(client: Any, workspace: Workspace, result: UpResult, progress: Progress) -> None:
    """Forward each allocated local port to the port the engine published for it."""
    wanted = []
    for allocation in result.ports:
        container = client.containers.get(workspace.container_name(allocation.service))
        published = docker_services.published_ports(container)
        remote_port = published.get((allocation.container_port, allocation.protocol))
        if remote_port is None or allocation.protocol != "tcp":
            continue
        wanted.append(
            forwards.Wanted(
                allocation.service, allocation.container_port, allocation.host_port, remote_port
            )
        )
    progress.begin("port forwards")
    forwards.ensure(workspace.project_id, workspace.name, wanted)
    progress.end("port forwards")


def _running(client: Any, workspace: Workspace) -> dict[str | None, Any]:
    """The workspace's running containers by service."""
    return {
        service_of(c.labels): c
        for c in docker_services.containers_for(client, workspace)
        if c.status == "running"
    }


def all_running(client: Any, workspace: Workspace, template: Template) -> bool:
    """Whether every service of ``template`` has a running container (``up`` may then start
    none; one published elsewhere than planned is still restarted: see ``before_start``)."""
    return set(template.services) <= set(_running(client, workspace))


def _allocate_ports(
    workspace: Workspace,
    record: WorkspaceRecord,
    template: Template,
    running: dict[str | None, Any],
    result: UpResult,
    progress: Progress,
    refused: frozenset[int] = frozenset(),
) -> list[ports.Allocation]:
    """Host ports for every published port; a port taken meanwhile is replaced and reported."""
    ours = frozenset(
        p for c in running.values() for p in docker_services.published_ports(c).values()
    )
    if engine.current().scheme == "ssh":  # the local ends are the forwards'
        ours = forwards.local_ports(workspace.project_id, workspace.name)
    requests = [
        ports.PortRequest(s.name, p.container_port, p.preferred_host_port, p.protocol)
        for s in template.services.values()
        for p in s.ports
    ]
    allocated = ports.allocate(
        nexus_home(),
        workspace.project_id,
        workspace.name,
        requests,
        in_use_by_us=ours,
        avoid=refused,
        bind_address=record.bind_address,
    )
    result.ports, result.attempts = allocated.allocations, allocated.attempts
    result.conflicts = len(allocated.conflicts)
    for allocation, old_port in allocated.conflicts:
        progress.say(
            f"port {old_port} of {allocation.service} is taken by another program; "
            f"using {allocation.host_port} instead"
        )
        invocation.signal("port_conflict", port=old_port)
    return allocated.allocations


def _start_services(
    client: Any,
    workspace: Workspace,
    record: WorkspaceRecord,
    template: Template,
    allocations: list[ports.Allocation],
    running: dict[str | None, Any],
    result: UpResult,
    progress: Progress,
    health_timeout_s: float,
    before_start: Callable[[], None] | None = None,
) -> None:
    worktree = workspace.worktree
    where = engine.current()
    pending_health: list[tuple[Any, str]] = []
    waits = awaited(template)
    needed_by_others = {d for d, c in waits.items() if c == HEALTHY}
    plans: list[ServicePlan] = []
    for service in template.start_order():
        host_ports = {
            (a.container_port, a.protocol): a.host_port
            for a in allocations
            if a.service == service.name
        }
        current = running.get(service.name)
        renewed = {plan.service.name for plan in plans} & service.restarts_with
        changed = current is not None and not definition_digest.same_spec(current, service)
        if changed:
            progress.say(f"{service.name}: its definition changed; making its container again")
        if (
            current is not None
            and not renewed
            and not changed
            and _same_ports(current, host_ports, where)
        ):
            result.kept.append(service.name)
            if service.name in needed_by_others:  # a dependency kept running must be healthy too
                _wait_all([(current, service.name)], progress, health_timeout_s)
            continue
        plans.append(
            ServicePlan(
                workspace=workspace,
                service=service,
                worktree=worktree,
                git_common_dir=workspace.project.git_common_dir,
                host_ports=host_ports,
                bind_address=record.bind_address,
                remote=where.remote,
                engine_picks_ports=where.scheme == "ssh",
            )
        )
    _check_bind_sources(worktree, template)
    if plans and before_start is not None:
        before_start()
    started: list[tuple[str, Any, float]] = []  # plain services: name, container, start time
    with _Creating(client, plans, progress) as creating:
        for plan in plans:  # each is started as soon as it is created and its dependencies allow
            name = plan.service.name
            container = creating.container(plan)
            progress.begin(f"start {name}")
            try:
                container.start()
            except Exception as exc:  # docker's APIError: a port taken meanwhile, or a refusal
                error = engine_refusals.meaning(exc, name, "start")
                if error is None:
                    raise
                raise error from exc
            progress.end(f"start {name}")
            result.started.append(name)
            if waits.get(name) == COMPLETED:
                progress.begin(f"complete {name}")
                container_waits.wait_completed(container, name, health_timeout_s)
                progress.end(f"complete {name}")
                continue
            if plan.service.healthcheck is None:  # looked at once its window is over
                started.append((name, container, time.monotonic()))
            if plan.service.healthcheck is not None or name in needed_by_others:
                pending_health.append((container, name))
            if name in needed_by_others:
                _wait_all(pending_health, progress, health_timeout_s)
    _wait_all(pending_health, progress, health_timeout_s)
    _check_still_running(started)


def _same_ports(
    container: Any, host_ports: dict[tuple[int, str], int], where: engine.Endpoint
) -> bool:
    """A running container publishes what is planned (behind forwards: the same ports)."""
    published = docker_services.published_ports(container)
    if where.scheme == "ssh":
        return set(published) == set(host_ports)
    return published == host_ports


STARTED, HEALTHY, COMPLETED = "service_started", "service_healthy", "service_completed_successfully"


def awaited(template: Template) -> dict[str, str]:
    """Each dependency -> what its dependents wait for before they start: completion over
    health over the start. A template's plain ``depends_on`` waits for health (or, without a
    healthcheck, a running container); a Compose file says so with conditions."""
    rank = {STARTED: 0, HEALTHY: 1, COMPLETED: 2}
    result: dict[str, str] = {}
    for service in template.services.values():
        for dep in service.depends_on:
            condition = service.depends_conditions.get(dep, HEALTHY)
            if rank[condition] >= rank.get(result.get(dep, STARTED), 0):
                result[dep] = condition
    return result


def _check_still_running(started: list[tuple[str, Any, float]]) -> None:
    """A service without a healthcheck that stopped within SETTLE_S of its own start fails the
    command. Each window began when that service started, so it has mostly passed by the time
    the last service is up (the waits overlap the later starts); what is left of it is waited
    here, ended at once by the engine's ``die`` event of a service that stops."""
    for name, container, start in started:
        container_waits.wait_still_running(container, name, start + SETTLE_S)


def _check_bind_sources(worktree: Path, template: Template) -> None:
    """Every ``./path`` bind source must resolve (after symlinks) inside the worktree, and be
    there: the engine refuses a missing one, and the usual cause (a file git ignores, such as a
    secret, is not in a new worktree) is worth saying before anything is created."""
    for service in template.services.values():
        for volume in service.volumes:
            if not volume.named:
                shown = volume.source if volume.source == "." else f"./{volume.source}"
                key = f"services.{service.name}.volumes ({shown}:{volume.target})"
                found = resolve_in_worktree(
                    worktree, volume.source, template=template.path, key=key, allow_root=True
                )
                if not found.exists():
                    raise ConfigError(
                        f"{template.path}: {key}: {shown} is not in the workspace's worktree",
                        hint="a file git ignores is not in a new worktree: list it in "
                        ".worktreeinclude to have it copied, then create the workspace again",
                    )


class _Creating:
    """The containers of ``plans``, created in threads: the first to start as soon as this is
    entered, alone (the engine makes one container faster than two at once), and the others at
    once as soon as it is made, while it starts. :meth:`container` waits for one of them only,
    so that a service starts while the others are still being created. Leaving waits until
    every create has ended."""

    def __init__(self, client: Any, plans: list[ServicePlan], progress: Progress) -> None:
        self._client, self._plans, self._progress = client, plans, progress
        self._pool: ThreadPoolExecutor | None = None
        self._futures: dict[str, Future[Any]] = {}
        self._waiting = {plan.service.name: plan for plan in plans}  # not submitted yet
        self._shown_done = False

    def __enter__(self) -> _Creating:
        if not self._plans:
            return self
        self._progress.begin("containers")
        self._pool = ThreadPoolExecutor(max_workers=min(8, len(self._plans)))
        self._submit(self._waiting.pop(self._plans[0].service.name))
        return self

    def _submit(self, plan: ServicePlan) -> None:
        assert self._pool is not None
        self._futures[plan.service.name] = self._pool.submit(
            docker_services.create_container, self._client, plan
        )

    def container(self, plan: ServicePlan) -> Any:
        if self._waiting.pop(plan.service.name, None) is not None:  # asked for before the
            self._submit(plan)  # first was made: made now
        try:
            container = self._futures[plan.service.name].result()
        except Exception as exc:
            error = engine_refusals.meaning(exc, plan.service.name, "create")
            if error is None:
                raise
            raise error from exc
        for waiting in self._waiting.values():  # the first is made: the others while it starts
            self._submit(waiting)
        self._waiting.clear()
        if not self._shown_done and all(f.done() for f in self._futures.values()):
            self._shown_done = True
            self._progress.end("containers")
        return container

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)


def _wait_all(pending: list[tuple[Any, str]], progress: Progress, timeout_s: float) -> None:
    while pending:
        container, name = pending.pop(0)
        progress.begin(f"health {name}")
        container_waits.wait_healthy(container, name, timeout_s)
        progress.end(f"health {name}")
