"""The workspace tools of ``nexus mcp``: the same cores as ``nexus workspace …``, same JSON.

Each tool builds the :class:`~nexus_cli.workspaces.handle.Workspace` handle (which validates the
name), calls the one function in :mod:`nexus_cli.workspaces` that the CLI command calls too, and
returns that result's ``to_json()``: what ``--json`` prints. Input checks (template names and
variables, service names, argv) live in those cores, shared with the CLI.
"""

from __future__ import annotations

from typing import Any

from nexus_cli.project import Project
from nexus_cli.tasks import workspace_hooks
from nexus_cli.workspaces import creation, execution, lifecycle, recovery
from nexus_cli.workspaces.handle import Workspace
from nexus_cli.workspaces.host_hooks import CREATE_EVENTS


def workspace_list(project: Project) -> dict[str, Any]:
    return recovery.list_workspaces(project).to_json()


def workspace_status(project: Project, name: str) -> dict[str, Any]:
    return recovery.status(Workspace(project, name)).to_json()


def workspace_create(
    project: Project,
    name: str,
    template: str = "bare",
    variables: dict[str, str] | None = None,
    host_ports: list[str] | None = None,
) -> dict[str, Any]:
    result = creation.create(
        Workspace(project, name),
        template_name=template,
        variables=variables or {},
        host_ports=host_ports or [],
        hooks=workspace_hooks.load(project, CREATE_EVENTS),
        container_hooks=workspace_hooks.container_hooks(project),
    )
    return result.to_json()


def workspace_up(project: Project, name: str) -> dict[str, Any]:
    check = workspace_hooks.container_hooks(project)
    return lifecycle.up(Workspace(project, name), container_hooks=check).to_json()


def workspace_down(project: Project, name: str) -> dict[str, Any]:
    return lifecycle.down(Workspace(project, name)).to_json()


def workspace_exec(
    project: Project, name: str, command: list[str], service: str | None = None
) -> dict[str, Any]:
    """Run ``command`` (an argv list, no shell) in the service; keep the last 64 KiB of output."""
    return execution.run_captured(Workspace(project, name), command, service).to_json()
