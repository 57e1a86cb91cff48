"""The workspace handle: one workspace of one project, and every name derived from it.

A :class:`Workspace` is built once, at the edge, from a project and a name; the name is validated
then (:func:`validate.workspace_name`). Everything else Nexus needs to find the workspace's parts
comes from the handle and from nowhere else: the worktree path (checked to stay inside the
project's worktrees folder after symlinks), the branch, the Docker object names (container,
network, volume), their labels and the label filters that find them again, and the project id,
read once per handle (and once per :class:`Project`).

Docker objects are named from the per-project id, never from a folder's basename, so two
repositories with the same folder name never share anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from nexus_cli import engine, fs, validate
from nexus_cli.errors import NexusError
from nexus_cli.workspaces import records
from nexus_cli.workspaces.worktree import checked as checked_worktree

if TYPE_CHECKING:
    from nexus_cli.project import Project
    from nexus_cli.workspaces.records import WorkspaceRecord

LABEL_PROJECT = "dev.nexus.project"
LABEL_WORKSPACE = "dev.nexus.workspace"
LABEL_SERVICE = "dev.nexus.service"
LABEL_MANAGED = "dev.nexus.managed"
LABEL_STOP_GRACE = "dev.nexus.stop-grace"  # a container's own stop grace period, in seconds
# Where `workspace exec` and the hooks run in a container: the service's working directory
# (a devcontainer's workspaceFolder, a template's working_dir), else /workspace
LABEL_WORKDIR = "dev.nexus.workdir"
# A digest of the service's definition the container was made from (definition_digest.spec_digest):
# `up` makes a running container again when the template or Compose file now says otherwise
LABEL_SPEC = "dev.nexus.spec"
WORKSPACE_DIR = "/workspace"


def workdir_of(container: Any) -> str:
    """Where commands run in ``container`` (:data:`LABEL_WORKDIR`; a container made before the
    label, or a value that is not an absolute path, runs them in /workspace)."""
    labels = (container.attrs.get("Config") or {}).get("Labels") or {}
    value = labels.get(LABEL_WORKDIR)
    if isinstance(value, str) and value.startswith("/") and "\0" not in value:
        return value
    return WORKSPACE_DIR


MANAGED_FILTER = f"{LABEL_MANAGED}=true"


class Workspace:
    """Workspace ``name`` of ``project``: validated name, paths, Docker names and labels."""

    __slots__ = ("_project_id", "name", "project", "source")

    def __init__(self, project: Project, name: str, *, source: Path | str | None = None) -> None:
        """``source`` says where ``name`` was read (a file, ``"task nx-ab12"``); None: the user."""
        self.project = project
        self.name = validate.workspace_name(name, source=source)
        self.source = source
        self._project_id: str | None = None

    def __repr__(self) -> str:
        return f"Workspace({self.name!r}, {str(self.project.root)!r})"

    @property
    def project_id(self) -> str:
        """The project's id (read, and if needed created, on first use; then kept)."""
        if self._project_id is None:
            self._project_id = project_id_of(self.project)
        return self._project_id

    @property
    def branch(self) -> str:
        return self.name

    @property
    def worktree_unchecked(self) -> Path:
        """Where the worktree belongs, not checked: only to name it in a report or message."""
        return self.project.worktrees_dir / self.name

    @property
    def worktree(self) -> Path:
        """``.nexus/worktrees/NAME``, refused when a link leads it (or its parent) out
        (:func:`nexus_cli.workspaces.worktree.checked`)."""
        return checked_worktree(self.project, self.name, self.source)

    def existing_worktree(self) -> Path | None:
        """The worktree when it is a folder (checked as :attr:`worktree`), else ``None``."""
        path = self.worktree
        return path if path.is_dir() else None

    def record(self) -> WorkspaceRecord:
        """The workspace's record; :class:`NotFoundError` when there is none."""
        return records.get(self.project.state_dir, self.name)

    @property
    def network_name(self) -> str:
        return f"nexus-{self.project_id}-{self.name}"

    def container_name(self, service: str) -> str:
        return f"nexus-{self.project_id}-{self.name}-{service}"

    def volume_name(self, volume: str) -> str:
        return f"nexus-{self.project_id}-{self.name}-{volume}"

    def labels(self, service: str | None = None) -> dict[str, str]:
        """The labels every Docker object of the workspace carries (and a container its service)."""
        result = {
            LABEL_PROJECT: self.project_id,
            LABEL_WORKSPACE: self.name,
            LABEL_MANAGED: "true",
        }
        if service is not None:
            result[LABEL_SERVICE] = service
        return result

    def label_filters(self, service: str | None = None) -> list[str]:
        """Docker ``label`` filters that match the workspace's objects (of ``service``)."""
        found = [*project_filters(self.project_id), f"{LABEL_WORKSPACE}={self.name}"]
        if service is not None:
            found.append(f"{LABEL_SERVICE}={service}")
        return found


def name_at(project: Project, path: Path) -> str | None:
    """The name of the worktree folder ``path`` lies in (``None`` outside every worktree)."""
    return project.worktree_at(path)


def project_filters(project_id_value: str) -> list[str]:
    """Docker ``label`` filters that match every object of one project."""
    return [f"{LABEL_PROJECT}={project_id_value}"]


def workspace_of(labels: dict[str, str] | None) -> str:
    return (labels or {}).get(LABEL_WORKSPACE, "")


def service_of(labels: dict[str, str] | None) -> str:
    return (labels or {}).get(LABEL_SERVICE, "")


def project_id_of(project: Project) -> str:
    """The project's id, kept on the project object after the first read (see :mod:`project_id`).

    A lost or corrupt id file is checked against the containers that mount this project's
    worktrees (:func:`ids_in_docker`), so the error can name the id to adopt.
    """
    return project.project_id(in_docker=ids_in_docker)


def ids_in_docker(project: Project) -> list[str]:
    """Project ids of Nexus containers that mount a worktree of this project (empty without Docker)."""
    if not _may_have_workspaces(project):
        return []
    try:
        client = engine.connect(timeout=5)
        containers = client.containers.list(all=True, filters={"label": [MANAGED_FILTER]})
    except (NexusError, Exception):
        return []
    found: dict[str, None] = {}
    for container in containers:
        label = (container.labels or {}).get(LABEL_PROJECT, "")
        mounts = container.attrs.get("Mounts") or []
        if validate.is_valid(validate.project_id, label) and any(
            fs.is_inside(str(m.get("Source", "")), project.worktrees_dir) for m in mounts
        ):
            found[label] = None
    return list(found)


def _may_have_workspaces(project: Project) -> bool:
    try:
        return any(project.worktrees_dir.iterdir())
    except OSError:
        return False


__all__ = [
    "LABEL_MANAGED",
    "LABEL_PROJECT",
    "LABEL_SERVICE",
    "LABEL_WORKSPACE",
    "MANAGED_FILTER",
    "Workspace",
    "ids_in_docker",
    "name_at",
    "project_filters",
    "project_id_of",
    "service_of",
    "workspace_of",
]
