"""Commands in, and logs of, a workspace's services: one core for the CLI and the MCP tool.

``nexus workspace exec`` streams the output to the terminal; the MCP tool ``workspace_exec``
keeps the last :data:`EXEC_OUTPUT_LIMIT` bytes. Both validate their input here, the same way.
"""

from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

from nexus_cli import engine, validate
from nexus_cli.errors import NotFoundError
from nexus_cli.telemetry.journal import invocation
from nexus_cli.workspaces import docker_services
from nexus_cli.workspaces.container_io import (
    Writer,
    exec_command,
    exec_in_terminal,
    find_container,
    has_docker_cli,
)
from nexus_cli.workspaces.handle import service_of
from nexus_cli.workspaces.lifecycle import template_for

if TYPE_CHECKING:
    from nexus_cli.workspaces.handle import Workspace

EXEC_OUTPUT_LIMIT = 64 * 1024  # bytes of combined output the captured form keeps (the tail)


@dataclass
class ExecResult:
    exit_code: int
    output: str
    truncated_bytes: int  # bytes dropped from the front to keep EXEC_OUTPUT_LIMIT
    hint: str | None = None  # see service_hint

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def run_command(
    workspace: Workspace,
    command: list[str],
    service: str | None,
    write: Writer,
    *,
    stdin: BinaryIO | None = None,
    terminal: bool = False,
) -> int:
    """Run ``command`` (argv, no shell) in ``/workspace`` of the service; returns its exit code.

    ``stdin`` is forwarded to the command (then closed); ``terminal`` (stdin and stdout are both
    terminals) gives it a TTY through the docker CLI, as ``docker exec -it`` would, when the CLI
    is installed, and streams through the engine API otherwise."""
    argv = validate.command_argv(command)
    if service is not None:
        validate.service_name(service)
    invocation.note(event_type="workspace", workspace=workspace.name)
    client, container = find_container(workspace, service)

    def warn(problem: str) -> None:  # on the command's stderr, where its output goes
        write(f"warning: {problem}\n".encode(), True)

    if terminal and has_docker_cli():
        purpose = "`nexus workspace exec`"
        return exec_in_terminal(container, argv, tty=True, purpose=purpose, warn=warn)
    return exec_command(client, container, argv, write, warn, stdin=None if terminal else stdin)


def run_captured(
    workspace: Workspace, command: list[str], service: str | None = None
) -> ExecResult:
    """:func:`run_command`, keeping the last :data:`EXEC_OUTPUT_LIMIT` bytes of the output."""
    kept = bytearray()
    dropped = 0

    def write(chunk: bytes, is_err: bool) -> None:
        nonlocal dropped
        kept.extend(chunk)
        if len(kept) > EXEC_OUTPUT_LIMIT:
            dropped += len(kept) - EXEC_OUTPUT_LIMIT
            del kept[: len(kept) - EXEC_OUTPUT_LIMIT]

    code = run_command(workspace, command, service, write)
    output = kept.decode("utf-8", errors="replace")
    return ExecResult(code, output, dropped, service_hint(workspace, command, service, code))


NOT_RUN = (126, 127)  # the engine could not run the command: not found, not executable


def service_hint(
    workspace: Workspace,
    command: list[str],
    service: str | None,
    exit_code: int,
    *,
    cli: bool = False,
) -> str | None:
    """When a command could not be run and its first word is one of the workspace's services
    (``exec NAME db -- psql``, as ``docker compose exec db psql`` is spelt), how to say it: as a
    command line (``cli``) or for the MCP tool."""
    if service is not None or exit_code not in NOT_RUN or len(command) < 2:
        return None
    services = template_for(workspace, workspace.record(), names_only=True).services
    if command[0] not in services:
        return None
    said = f"{command[0]!r} is a service of {workspace.name!r}"
    if not cli:
        return f"{said}: give it as the service, and the command without it: {command[1:]!r:.200}"
    rest = " ".join(shlex.quote(word) for word in command[1:])
    return f"{said}: nexus workspace exec {workspace.name} --service {command[0]} -- {rest}"


def log_sources(workspace: Workspace, service: str | None) -> list[tuple[str, Any]]:
    """(service, container) pairs whose logs ``workspace logs`` shows, sorted by service."""
    if service is not None:
        validate.service_name(service)
    invocation.note(event_type="workspace", workspace=workspace.name)
    workspace.record()
    found = {
        service_of(c.labels): c for c in docker_services.containers_for(engine.connect(), workspace)
    }
    if service is not None and service not in found:
        raise NotFoundError(
            f"workspace {workspace.name!r} has no container for service {service!r}",
            hint=f"containers: {', '.join(sorted(found)) or 'none (run `nexus workspace up`)'}",
        )
    return [(s, found[s]) for s in sorted(found) if service in (None, s)]
