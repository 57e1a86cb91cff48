"""Read-only questions about workspaces and templates: a worktree's path, a workspace's host
ports, the templates available and what one resolves to. The CLI (and any other front end)
only renders what these return.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nexus_cli import validate
from nexus_cli.errors import NexusError
from nexus_cli.paths import nexus_home
from nexus_cli.telemetry.journal import invocation
from nexus_cli.workspaces import exposure, ports
from nexus_cli.workspaces.templates import available, find_template_file, parse_template_file

if TYPE_CHECKING:
    from nexus_cli.workspaces.handle import Workspace
    from nexus_cli.workspaces.template_model import Template


def worktree_path(workspace: Workspace) -> Path:
    """``workspace path``: the worktree of a workspace that has a record."""
    invocation.note(event_type="workspace", workspace=workspace.name)
    workspace.record()
    return workspace.worktree


@dataclass
class PortRow:
    service: str  # the service, or the name of a host port
    container_port: int | None  # None for a host port
    protocol: str
    host_port: int
    address: str  # the host interface it is published on (for a host port: to listen on)
    kind: str = "container"  # "container" (published by a service) or "host" (for a host process)


@dataclass
class PortsResult:
    rows: list[PortRow]

    def to_json(self) -> list[dict[str, Any]]:
        """What ``workspace ports --json`` prints."""
        return [asdict(row) for row in self.rows]


def published_ports(workspace: Workspace) -> PortsResult:
    """``workspace ports``: the host ports allocated to the workspace (stable across down/up)."""
    invocation.note(event_type="workspace", workspace=workspace.name)
    record = workspace.record()
    address = exposure.recorded_address(workspace.project, workspace.name, record.bind_address)
    allocated = ports.allocations_for(nexus_home(), workspace.project_id, workspace.name)
    return PortsResult(
        [
            PortRow(
                a.service,
                None if a.host else a.container_port,
                a.protocol,
                a.host_port,
                address.address,
                "host" if a.host else "container",
            )
            for a in allocated
        ]
    )


@dataclass
class TemplateEntry:
    name: str
    origin: str  # project, user or builtin
    path: str
    services: list[str] | None  # None when the file does not parse
    description: str | None
    error: str | None


@dataclass
class TemplateList:
    templates: list[TemplateEntry]

    def to_json(self) -> list[dict[str, Any]]:
        """What ``template list --json`` prints."""
        return [asdict(entry) for entry in self.templates]


def list_templates(project_root: Path | None) -> TemplateList:
    """``template list``: every template ``workspace create --template`` accepts here."""
    entries: list[TemplateEntry] = []
    for name, (origin, path) in sorted(available(project_root).items()):
        try:
            parsed = parse_template_file(
                name, origin, path, {}, strict=False, project_root=project_root
            )
        except NexusError as exc:
            entries.append(TemplateEntry(name, origin, str(path), None, None, exc.message))
            continue
        entries.append(
            TemplateEntry(name, origin, str(path), list(parsed.services), parsed.description, None)
        )
    return TemplateList(entries)


def show_template(name: str, project_root: Path | None, variables: dict[str, str]) -> Template:
    """``template show``: the template resolved with ``variables`` (unset ones may stay open)."""
    validate.template_name(name)
    values = validate.template_variables(variables)
    origin, path = find_template_file(name, project_root)
    return parse_template_file(name, origin, path, values, strict=False, project_root=project_root)
