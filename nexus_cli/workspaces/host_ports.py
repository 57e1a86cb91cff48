"""Host ports: ports for dev servers a developer runs on the host in a workspace's worktree.

A template lists names (``x-nexus.host_ports: [web, api]``) and ``workspace create --host-port``
adds more. Each name gets a port from the machine-wide allocation table of :mod:`ports`, so it
never equals a container's port or another workspace's. The preferred port is derived from the
project, workspace and name (stable, spread over a range), and a port is probed before it is handed
out. ``nexus workspace env NAME`` exports them as ``NEXUS_PORT_<NAME>`` and the first as ``PORT``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from nexus_cli import validate
from nexus_cli.errors import NotFoundError, UsageError
from nexus_cli.paths import nexus_home
from nexus_cli.workspaces import exposure, ports
from nexus_cli.workspaces.handle import Workspace
from nexus_cli.workspaces.template_parsing import HOST_PORT_NAME, MAX_HOST_PORTS

PREFERRED_RANGE = (41000, 49000)  # where stable preferred host ports are spread


def check_names(names: list[str]) -> list[str]:
    """Host-port names typed on the command line (``--host-port``), checked like the template's."""
    unique = list(dict.fromkeys(names))
    bad = [name for name in unique if not HOST_PORT_NAME.match(name)]
    if bad:
        raise UsageError(
            f"--host-port {bad[0]!r} is not a name",
            hint="use lowercase letters, digits and -, 32 characters at most (e.g. web, api)",
        )
    if len(unique) > MAX_HOST_PORTS:
        raise UsageError(f"at most {MAX_HOST_PORTS} host ports per workspace")
    return unique


def preferred_port(project: str, workspace: str, name: str) -> int:
    digest = hashlib.sha256(f"{project}\0{workspace}\0{name}".encode()).digest()
    low, high = PREFERRED_RANGE
    return low + int.from_bytes(digest[:4], "big") % (high - low)


def check_total(names: list[str]) -> list[str]:
    """The template's and the command line's host-port names together, each once: at most
    :data:`MAX_HOST_PORTS` (checked before a create makes anything)."""
    unique = list(dict.fromkeys(names))
    if len(unique) > MAX_HOST_PORTS:
        raise UsageError(
            f"{len(unique)} host ports asked for; at most {MAX_HOST_PORTS} per workspace",
            hint="list fewer in x-nexus.host_ports and --host-port together",
        )
    return unique


def allocate(workspace: Workspace, names: list[str], bind_address: str) -> list[ports.Allocation]:
    """Give each name a host port (the recorded one when it is still there); ``names`` as
    :func:`check_total` returned them, before the create made anything."""
    if not names:
        return []
    validate.workspace_name(workspace.name)
    requests = [
        ports.PortRequest(
            name, 0, preferred_port(workspace.project_id, workspace.name, name), host=True
        )
        for name in names
    ]
    result = ports.allocate(
        nexus_home(),
        workspace.project_id,
        workspace.name,
        requests,
        bind_address=bind_address,
    )
    return result.allocations


def variable(name: str) -> str:
    return "NEXUS_PORT_" + name.upper().replace("-", "_")


@dataclass(frozen=True, slots=True)
class WorkspaceEnv:
    """What ``nexus workspace env`` exports for processes on the host."""

    variables: dict[str, str]

    def to_json(self) -> dict[str, str]:
        return dict(self.variables)


def environment(workspace: Workspace) -> WorkspaceEnv:
    """``NEXUS_WORKSPACE``, ``NEXUS_WORKTREE``, one ``NEXUS_PORT_<NAME>`` per host port and
    ``PORT`` for the first of them (in the order they were allocated)."""
    workspace.record()  # a clear "no workspace named ..." first
    return WorkspaceEnv(variables_of(workspace))


def variables_of(workspace: Workspace) -> dict[str, str]:
    """What :func:`environment` exports, for a workspace that may have no record yet."""
    allocated = ports.allocations_for(nexus_home(), workspace.project_id, workspace.name)
    found = [a for a in allocated if a.host]
    variables = {
        "NEXUS_WORKSPACE": workspace.name,
        "NEXUS_WORKTREE": str(workspace.worktree_unchecked),
    }
    for allocation in found:
        variables[variable(allocation.service)] = str(allocation.host_port)
    if found:
        variables["PORT"] = str(found[0].host_port)
    published = [a for a in allocated if not a.host]
    if published:
        variables.update(service_variables(published, _connect_host(workspace)))
    return variables


def service_variables(published: list[ports.Allocation], host: str) -> dict[str, str]:
    """Where a process on the host reaches each published container port, at ``host``:
    ``NEXUS_SERVICE_<SERVICE>_<PORT>_ADDR`` (``_UDP`` after a UDP port), and
    ``NEXUS_SERVICE_<SERVICE>_ADDR`` for the service's first one (``HOST:PORT``)."""
    shown = f"[{host}]" if ":" in host else host
    variables: dict[str, str] = {}
    for allocation in published:
        service = "NEXUS_SERVICE_" + allocation.service.upper().replace("-", "_")
        address = f"{shown}:{allocation.host_port}"
        udp = "_UDP" if allocation.protocol == "udp" else ""
        variables.setdefault(f"{service}_ADDR", address)
        variables[f"{service}_{allocation.container_port}{udp}_ADDR"] = address
    return variables


def _connect_host(workspace: Workspace) -> str:
    """The address to connect to the workspace's ports at: the loopback address they are bound
    to, else 127.0.0.1 (a port published on every interface is on that one too; a record's
    address nobody chose here binds to it anyway: :func:`exposure.recorded_address`)."""
    try:
        recorded = workspace.record().bind_address
    except NotFoundError:  # not made yet (a pre_create hook)
        return exposure.LOOPBACK
    return recorded if exposure.is_loopback(recorded) else exposure.LOOPBACK


def hook_environment(workspace: Workspace) -> dict[str, str]:
    """:func:`variables_of` plus ``NEXUS_BRANCH`` and ``NEXUS_PROJECT_ROOT``, for host hooks."""
    return {
        **variables_of(workspace),
        "NEXUS_BRANCH": workspace.branch,
        "NEXUS_PROJECT_ROOT": str(workspace.project.root),
    }
