"""Workspace names and the names and labels of the Docker objects that belong to them.

A name is validated by :mod:`nexus_cli.validate`: it must be a valid git branch, Docker object name and folder name
at the same time. Docker objects are named from the per-project id, never from a folder's basename,
so two repositories with the same folder name never share anything.
"""

from __future__ import annotations

from pathlib import Path

from nexus_cli import validate

LABEL_PROJECT = "dev.nexus.project"
LABEL_WORKSPACE = "dev.nexus.workspace"
LABEL_SERVICE = "dev.nexus.service"
LABEL_MANAGED = "dev.nexus.managed"


def validate_name(name: str, *, source: Path | str | None = None) -> str:
    """Return ``name`` if it is a safe workspace name (see :func:`validate.workspace_name`)."""
    return validate.workspace_name(name, source=source)


def validate_service_name(name: str) -> bool:
    return validate.is_valid(validate.service_name, name)


def network_name(project_id: str, workspace: str) -> str:
    return f"nexus-{project_id}-{workspace}"


def container_name(project_id: str, workspace: str, service: str) -> str:
    return f"nexus-{project_id}-{workspace}-{service}"


def volume_name(project_id: str, workspace: str, volume: str) -> str:
    return f"nexus-{project_id}-{workspace}-{volume}"


def labels(project_id: str, workspace: str, service: str | None = None) -> dict[str, str]:
    """The labels every Docker object of a workspace carries."""
    result = {
        LABEL_PROJECT: project_id,
        LABEL_WORKSPACE: workspace,
        LABEL_MANAGED: "true",
    }
    if service is not None:
        result[LABEL_SERVICE] = service
    return result
