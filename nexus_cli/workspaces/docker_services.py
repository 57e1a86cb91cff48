"""A workspace's containers, network and volumes, through the Docker SDK.

Every object is named and labelled by the workspace handle (:class:`handle.Workspace`), which
builds them from the project id and the workspace name. The client always comes from :func:`nexus_cli.engine.connect`. The docker package
is imported only inside functions.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, NamedTuple

from nexus_cli import engine, fs, git
from nexus_cli.errors import ConfigError, ConflictError
from nexus_cli.workspaces import compose_runtime
from nexus_cli.workspaces.definition_digest import spec_digest
from nexus_cli.workspaces.handle import (
    LABEL_PROJECT,
    LABEL_SPEC,
    LABEL_STOP_GRACE,
    LABEL_WORKDIR,
    WORKSPACE_DIR,
    project_filters,
)
from nexus_cli.workspaces.image_build import image_of
from nexus_cli.workspaces.service_model import ServiceSpec

if TYPE_CHECKING:
    from nexus_cli.workspaces.handle import Workspace


@dataclass(frozen=True)
class ServicePlan:
    """Everything needed to run one service of one workspace."""

    workspace: Workspace
    service: ServiceSpec
    worktree: Path
    git_common_dir: Path
    host_ports: dict[tuple[int, str], int]
    bind_address: str = "127.0.0.1"
    remote: bool = False  # the engine is remote: worktree paths are volumes (workspaces/remote.py)
    engine_picks_ports: bool = False  # ssh engine: published anywhere, forwarded (forwards.py)

    @property
    def container_name(self) -> str:
        return self.workspace.container_name(self.service.name)


# The engine's words when its default address pools have no subnet left for one more network
# (Docker 20.10.24 answers 404 with them; the text, not the status, is what is matched):
# each workspace has a network of its own, and the default pools hold about 30 bridge networks.
NO_ADDRESS_POOL = "could not find an available, non-overlapping IPv4 address pool"


def _no_addresses_left() -> ConflictError:
    return ConflictError(
        "the Docker engine has no free network addresses left for this workspace's network "
        "(its default address pools are used up by other networks)",
        hint="delete workspaces you no longer use (`nexus workspace list`, then "
        "`nexus workspace delete NAME`), remove unused networks (`docker network prune`), or "
        "give the engine more with `default-address-pools` in its daemon.json",
        category="address_pool_exhausted",
    )


def ensure_network(client: Any, workspace: Workspace) -> None:
    """Make sure the workspace's network exists: created when missing (one request).

    The engine (before API 1.44) allows two networks of one name, and then refuses every later
    lookup by that name as ambiguous. A create whose request an interrupt cut short may still
    complete in the engine after the undo looked, so a second one can appear: when the engine
    says the name is taken, the oldest of the workspace's own networks of that name is kept and
    the others (unused: nothing is attached before this returns) are removed.
    """
    from docker.errors import APIError

    name = workspace.network_name
    try:
        client.api.create_network(
            name, driver="bridge", labels=workspace.labels(), check_duplicate=True
        )
        return
    except APIError as exc:
        if NO_ADDRESS_POOL in str(exc.explanation or exc):
            raise _no_addresses_left() from None
        if exc.status_code != 409:  # 409: there already (`up`), or made meanwhile by another
            raise
    same = sorted(
        (n for n in client.networks.list(names=[name]) if n.name == name),
        key=lambda n: n.attrs.get("Created", ""),
    )
    labels = workspace.labels()
    for extra in same[1:]:
        if all(extra.attrs.get("Labels", {}).get(k) == v for k, v in labels.items()):
            with contextlib.suppress(APIError):
                extra.remove()


def ensure_volume(client: Any, workspace: Workspace, volume: str) -> str:
    """Make sure the workspace's volume exists; its engine name. One request: the engine
    creates a volume of a name it does not have and answers with the one it has otherwise."""
    name = workspace.volume_name(volume)
    client.volumes.create(name, labels=workspace.labels())
    return name


def containers_for(client: Any, workspace: Workspace) -> list[Any]:
    """Every container (running or not) labelled for the workspace."""
    filters = workspace.label_filters()
    return list(client.containers.list(all=True, filters={"label": filters}))


def project_containers(client: Any, project_id: str) -> list[Any]:
    """Every container (running or not) labelled for the project, of any workspace."""
    filters = project_filters(project_id)
    return list(client.containers.list(all=True, filters={"label": filters}))


# What of the repository's common git dir a container gets (same path as on the host, so the
# worktree's ``.git`` file resolves): objects, refs and logs read-write (``git commit`` needs them),
# the worktree's own admin folder read-write; config, hooks, HEAD, packed-refs and the files that
# say where the git dir is are read-only. Other worktrees' admin folders are not mounted at all.
GIT_RW = ("objects", "refs", "logs")
GIT_RO = ("config", "HEAD", "packed-refs", "hooks", "info")
ADMIN_RO = ("commondir", "gitdir", "config.worktree")


def git_mounts(worktree: Path, common: Path, workspace: str) -> dict[str, dict[str, str]]:
    """Bind mounts that let ``git status/commit`` work in ``/workspace`` but never let a
    container change what the host's git runs (hooks, config, the git dir's location)."""
    mounts: dict[str, dict[str, str]] = {}

    def add(path: Path, mode: str, bind: str | None = None) -> None:
        if path.exists() and not path.is_symlink():
            mounts[str(path)] = {"bind": bind or str(path), "mode": mode}

    for name in GIT_RW:
        add(common / name, "rw")
    for name in GIT_RO:
        add(common / name, "ro")
    admin = common / "worktrees" / workspace
    add(admin, "rw")
    for name in ADMIN_RO:
        add(admin / name, "ro")
    add(worktree / ".git", "ro", "/workspace/.git")
    return mounts


class Bind(NamedTuple):
    source: str  # a host path
    target: str  # a path in the container
    read_only: bool


def pointer_guards(worktree: Path, binds: list[Bind]) -> list[Bind]:
    """``binds`` with the worktree's ``.git`` file read-only in every one that shows it.

    A bind whose source (after symlinks) *is* the ``.git`` file becomes read-only; one whose
    source is the worktree or a folder above it (whatever the template's spelling: ``.``, ``./``,
    a link to ``.``) gets the ``.git`` file bound read-only over itself at the matching place
    inside it. So no container can point the worktree at a git dir of its own, whose config
    (``core.fsmonitor``, hooks) git on the host would run.
    """
    dotgit = os.path.join(os.path.realpath(worktree), ".git")
    guarded: list[Bind] = []
    wanted: dict[str, Bind] = {}
    for bind in binds:
        real = os.path.realpath(bind.source)
        if real == dotgit:
            guarded.append(bind._replace(read_only=True))
            continue
        guarded.append(bind)
        if not bind.read_only and dotgit.startswith(real.rstrip(os.sep) + os.sep):
            rel = PurePosixPath(os.path.relpath(dotgit, real))
            target = str(PurePosixPath(bind.target) / rel)
            wanted.setdefault(target, Bind(dotgit, target, True))
    have = {b.target for b in guarded}
    return guarded + [guard for target, guard in wanted.items() if target not in have]


def _hold_worktree_config(admin: Path) -> None:
    """Make sure the worktree's ``config.worktree`` exists (empty when new), so that
    :func:`git_mounts` mounts it read-only: a container could otherwise create it in its
    writable admin folder, and git reads it when ``extensions.worktreeConfig`` is on."""
    if admin.parent.name != "worktrees":  # the main worktree: not mounted into containers
        return
    try:
        fd = os.open(admin / "config.worktree", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return
    os.close(fd)


WORKTREE_VOLUME = "nexus-worktree"


def worktree_volume(rel: str) -> str:
    """The workspace volume (short name) that holds worktree path ``rel`` on a remote engine."""
    rel = posixpath.normpath(rel)
    if rel == ".":
        return WORKTREE_VOLUME
    return f"{WORKTREE_VOLUME}-{hashlib.sha256(rel.encode()).hexdigest()[:12]}"


def remote_mounts(plan: ServicePlan, binds: list[Bind]) -> list[Any]:
    """The volume mounts that replace ``binds`` (worktree paths) on a remote engine, where a
    local path does not exist; a bind of a path outside the worktree is refused with one line
    naming the service and the path. No git data is mounted: the volumes hold the files only."""
    from docker.types import Mount

    root = os.path.realpath(plan.worktree)
    result = []
    for bind in binds:
        rel = os.path.relpath(os.path.realpath(bind.source), root)
        if rel == ".." or rel.startswith(".." + os.sep) or os.path.isabs(rel):
            raise ConfigError(
                f"service {plan.service.name!r}: cannot bind-mount the local path {bind.source} "
                f"on the remote engine {engine.current().host}",
                hint="mount a path inside the worktree (it is synced into a volume) or a named volume",
            )
        volume = plan.workspace.volume_name(worktree_volume(rel.replace(os.sep, "/")))
        result.append(Mount(bind.target, volume, type="volume", read_only=bind.read_only))
    return result


def _mounts(plan: ServicePlan) -> list[Any]:
    """The service's mounts: the worktree at ``/workspace``, the git data (:func:`git_mounts`),
    the template's volumes, and the read-only guards of the ``.git`` file
    (:func:`pointer_guards`). Docker's ``Mounts`` API, which takes any path and orders nested
    targets after their parents."""
    from docker.types import Mount

    binds = [Bind(str(plan.worktree), "/workspace", False)]
    if not plan.remote:
        # a .git file that no longer points at the repository's git dir is never handed on
        checkout = git.checkout_of(plan.git_common_dir, plan.worktree)
        _hold_worktree_config(checkout.git_dir)
        git_binds = git_mounts(plan.worktree, plan.git_common_dir, plan.workspace.name)
        binds += [Bind(src, spec["bind"], spec["mode"] == "ro") for src, spec in git_binds.items()]
    named: list[Any] = []
    for volume in plan.service.volumes:
        if volume.named:  # made (labelled) before any container is created: prepare_engine
            source = plan.workspace.volume_name(volume.source)
            named.append(
                Mount(
                    volume.target,
                    source,
                    type="volume",
                    read_only=volume.read_only,
                    no_copy=volume.no_copy,
                )
            )
        else:  # checked by services_up against the template; resolved again here (symlinks)
            resolved = fs.resolve_inside(
                plan.worktree, volume.source, what="bind mount", allow_root=True
            )
            binds.append(Bind(str(resolved), volume.target, volume.read_only))
    if plan.remote:
        return remote_mounts(plan, binds) + named
    mounts = [
        Mount(b.target, b.source, type="bind", read_only=b.read_only)
        for b in pointer_guards(plan.worktree, binds)
    ]
    return mounts + named


def _labels(plan: ServicePlan) -> dict[str, str]:
    """The file's labels, then Nexus's own (which the file may not set: compose_runtime.py)."""
    service = plan.service
    labels = {**service.runtime.labels, **plan.workspace.labels(service.name)}
    labels[LABEL_WORKDIR] = service.working_dir or WORKSPACE_DIR
    labels[LABEL_SPEC] = spec_digest(service)
    if service.runtime.stop_grace_s is not None:
        labels[LABEL_STOP_GRACE] = str(service.runtime.stop_grace_s)
    return labels


def _aliases(service: ServiceSpec) -> list[str]:
    """The service's names on the workspace's network: its own, its file's container_name and
    network aliases."""
    names = [service.name, service.runtime.alias, *service.runtime.aliases]
    return list(dict.fromkeys(name for name in names if name))


def _healthcheck(service: ServiceSpec) -> dict[str, Any] | None:
    health = service.healthcheck
    if health is None:  # the image's own, unless the file turned it off
        return {"test": ["NONE"]} if service.healthcheck_off else None
    ns = 1_000_000_000
    return {
        "test": health.test,
        "interval": int(health.interval_s * ns),
        "timeout": int(health.timeout_s * ns),
        "retries": health.retries,
        "start_period": int(health.start_period_s * ns),
    }


def create_container(client: Any, plan: ServicePlan) -> Any:
    """Create (not start) the service's container; an old one of that name is replaced.

    The name is tried first: only when the engine answers that it is taken (409) is the old
    container removed and the create made again, so the usual case costs one request."""
    from docker.errors import APIError, NotFound

    try:
        return _create(client, plan)
    except APIError as exc:
        if exc.status_code != 409:
            raise
    with contextlib.suppress(NotFound):  # gone meanwhile: the name is free all the same
        old = client.containers.get(plan.container_name)
        labels = (old.attrs.get("Config") or {}).get("Labels") or {}
        # only what carries this project's label is Nexus's to remove (docs/security.md)
        if labels.get(LABEL_PROJECT) != plan.workspace.project_id:
            raise ConflictError(
                f"a container named {plan.container_name} is there and is not this project's "
                "(it lacks Nexus's label with the project's id)",
                hint=f"remove or rename it yourself (`docker rm -f {plan.container_name}`) if you "
                "do not need it, then run the command again",
            )
        old.remove(force=True)
    return _create(client, plan)


def _create(client: Any, plan: ServicePlan) -> Any:
    network = plan.workspace.network_name
    service = plan.service
    container = client.containers.create(
        image_of(plan.workspace, service),
        command=service.command,
        entrypoint=service.entrypoint,
        name=plan.container_name,
        labels=_labels(plan),
        environment={
            **service.environment,
            **dict.fromkeys(service.unset_environment),  # a bare name: unset in the container
            "NEXUS_WORKSPACE": plan.workspace.name,
            "NEXUS_SERVICE": service.name,
        },
        working_dir=service.working_dir or None,
        mounts=_mounts(plan),
        ports={
            f"{cport}/{proto}": (plan.bind_address, None if plan.engine_picks_ports else host)
            for (cport, proto), host in plan.host_ports.items()
        },
        network=network,
        networking_config={network: client.api.create_endpoint_config(aliases=_aliases(service))},
        platform=service.platform or None,
        healthcheck=_healthcheck(service),
        detach=True,
        **_settings(service),
    )
    return container


def _settings(service: ServiceSpec) -> dict[str, Any]:
    """A service's user, and a Compose service's CPU, memory, process and restart settings and how its
    container runs (init, host name, tmpfs, stop signal and grace: compose_runtime.py)."""
    extra: dict[str, Any] = compose_runtime.create_settings(service.runtime)
    if service.nano_cpus is not None:
        extra["nano_cpus"] = service.nano_cpus
    for name in ("mem_limit", "mem_reservation", "cpu_shares", "pids_limit"):
        if getattr(service, name) is not None:
            extra[name] = getattr(service, name)
    if service.restart:
        name, _, count = service.restart.partition(":")
        extra["restart_policy"] = {"Name": name, "MaximumRetryCount": int(count or 0)}
    if service.user:
        extra["user"] = service.user
    return extra


def stop_containers(client: Any, workspace: Workspace, timeout_s: int = 5) -> int:
    """Stop and remove the workspace's containers (volumes stay). Returns how many. Each is given
    ``timeout_s`` to stop after its stop signal, or the grace period its Compose file set
    (``stop_grace_period``, at most compose_runtime.MAX_GRACE_S)."""
    found = containers_for(client, workspace)
    for container in found:
        if container.status == "running":
            container.stop(timeout=_grace(container, timeout_s))
        container.remove(force=True)
    return len(found)


def _grace(container: Any, default_s: int) -> int:
    """The container's own grace period when its file set one (its label: at most MAX_GRACE_S
    whatever the label says), else ``default_s``."""
    own = str(((container.attrs.get("Config") or {}).get("Labels") or {}).get(LABEL_STOP_GRACE))
    if own.isascii() and own.isdigit() and len(own) <= 6:
        return min(int(own), compose_runtime.MAX_GRACE_S)
    return default_s


def remove_all(client: Any, workspace: Workspace, *, keep_volumes: bool = False) -> dict[str, int]:
    """Remove containers, network and (unless ``keep_volumes``) volumes of a workspace."""
    counts = {"containers": stop_containers(client, workspace, timeout_s=2)}
    label = workspace.label_filters()
    networks = client.networks.list(filters={"label": label})
    for network in networks:
        network.remove()
    volumes = [] if keep_volumes else client.volumes.list(filters={"label": label})
    for volume in volumes:
        volume.remove(force=True)
    images = client.images.list(filters={"label": label})  # built from a Compose build:
    for image in images:
        client.images.remove(image.id, force=True)
    counts.update(networks=len(networks), volumes=len(volumes))
    return counts


def published_ports(container: Any) -> dict[tuple[int, str], int]:
    """(container port, protocol) -> host port of a running container."""
    result: dict[tuple[int, str], int] = {}
    for key, bindings in (container.attrs.get("NetworkSettings", {}).get("Ports") or {}).items():
        if not bindings:
            continue
        port, _, proto = key.partition("/")
        result[(int(port), proto or "tcp")] = int(bindings[0]["HostPort"])
    return result
