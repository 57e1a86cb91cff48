"""Workspace names and the names and labels of the Docker objects that belong to them.

A name is validated once, here: it must be a valid git branch, Docker object name and folder name
at the same time. Docker objects are named from the per-project id, never from a folder's basename,
so two repositories with the same folder name never share anything.
"""

from __future__ import annotations

import re

from nexus_cli.errors import UsageError

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
SERVICE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")

LABEL_PROJECT = "dev.nexus.project"
LABEL_WORKSPACE = "dev.nexus.workspace"
LABEL_SERVICE = "dev.nexus.service"
LABEL_MANAGED = "dev.nexus.managed"

NAME_RULES = (
    "use 1-63 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit "
    "(e.g. feature-auth)"
)


def validate_name(name: str) -> str:
    """Return ``name`` if it is a safe workspace name, else raise :class:`UsageError`."""
    problem = _name_problem(name)
    if problem is not None:
        raise UsageError(f"invalid workspace name {name!r}: {problem}", hint=NAME_RULES)
    return name


def _name_problem(name: str) -> str | None:
    if not name:
        return "it is empty"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        return "it contains control characters"
    if name.startswith("-"):
        return "it starts with a dash"
    if "/" in name or "\\" in name:
        return "it contains a slash"
    if ".." in name:
        return "it contains '..'"
    if name.endswith((".", ".lock")):
        return "it ends with '.' or '.lock'"
    if not NAME_PATTERN.match(name):
        return "it contains characters outside a-z, 0-9, '.', '_', '-' or is too long"
    return None


def validate_service_name(name: str) -> bool:
    return bool(SERVICE_PATTERN.match(name))


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
