"""A dev container that a Compose file defines (``dockerComposeFile`` and ``service``), imported
as a template that points at that file (``x-nexus.compose``).

The services, their images, ports, volumes and users are the Compose file's, read by the same
loader as ``workspace create --compose`` (with its trust rules); the dev container adds which
service is the one you work in (``default_service``, where ``exec`` and ``shell`` go) and its
lifecycle commands, as hooks in that service. What the dev container spec would add to the
service on top of the file (``containerEnv``, ``mounts``, ``forwardPorts``, a user, an image) is
named in the import's one error, to be set in the Compose file, never dropped. ``workspaceFolder``
only says where an editor opens: Nexus runs ``exec`` and hooks in ``/workspace``, where the
worktree is, and lists it as left out.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any

from nexus_cli import fs, validate
from nexus_cli.errors import ConfigError
from nexus_cli.workspaces.compose import load_compose

KEY = "dockerComposeFile"
# Read in Compose mode (besides the lifecycle commands and ``name``, read in both modes).
KEYS = frozenset({KEY, "service", "runServices"})
LEFT_OUT = frozenset({"workspaceFolder"})
# What the spec sets on the container itself (read from an image or Dockerfile dev container);
# with a Compose file, what it would add on top of the file's service: set in the file instead.
CONTAINER_KEYS = frozenset(
    {
        "image",
        "build",
        "dockerFile",
        "context",
        "forwardPorts",
        "containerEnv",
        "mounts",
        "containerUser",
        "remoteUser",
        "remoteEnv",
        "overrideCommand",
        "workspaceMount",
    }
)


def in_the_file(key: str) -> str:
    """Why ``key`` is refused in Compose mode."""
    return f"{key} (with {KEY}: set it in the Compose file)"


def service_of(data: dict[str, Any], source: Path) -> str:
    """The ``service`` you work in: a service name."""
    service = data.get("service")
    if not isinstance(service, str) or not validate.is_valid(validate.service_name, service):
        raise ConfigError(f"{source}: service: expected the name of the Compose service to use")
    return service


def document(
    data: dict[str, Any],
    source: Path,
    project_root: Path,
    folder: str,
    *,
    description: str,
    hooks: dict[str, list[dict[str, Any]]],
) -> dict[str, Any]:
    """The template: ``x-nexus`` pointing at the Compose file (project-relative), with the
    service as the default one and the lifecycle ``hooks`` (already translated for it)."""
    service = service_of(data, source)
    compose = _compose_file(data.get(KEY), source, project_root, folder)
    loaded = load_compose(project_root, compose, lenient_env=True).services
    if service not in loaded:
        raise ConfigError(
            f"{source}: service: {service!r} is not a service of {compose} "
            f"(its services: {', '.join(loaded) or 'none'})"
        )
    _check_run_services(data.get("runServices"), service, loaded, source, compose)
    nexus: dict[str, Any] = {
        "description": description,
        "compose": compose,
        "default_service": service,
    }
    if hooks:
        nexus["hooks"] = hooks
    return {"x-nexus": nexus}


def _compose_file(value: Any, source: Path, project_root: Path, folder: str) -> str:
    """``dockerComposeFile`` (a path, or a list of one, relative to the devcontainer.json's
    folder) as a project-relative path, inside the project after symlinks."""
    files = [value] if isinstance(value, str) else value
    if not isinstance(files, list) or len(files) != 1 or not isinstance(files[0], str):
        raise ConfigError(
            f"{source}: {KEY}: expected one Compose file (Nexus reads one: fold the others "
            "into it, or use extends)"
        )
    rel = posixpath.normpath(posixpath.join(folder, files[0]))
    if rel.startswith("/") or rel == ".." or rel.startswith("../"):
        raise ConfigError(f"{source}: {KEY}: expected a path inside the project")
    try:
        fs.resolve_inside(project_root, rel, what=f"{source}: {KEY}")
    except fs.PathEscapeError as exc:
        raise ConfigError(
            exc.message, hint="dev container paths must stay inside the project"
        ) from None
    return rel


def _check_run_services(
    value: Any, service: str, loaded: dict[str, Any], source: Path, compose: str
) -> None:
    """``runServices`` may only name what runs anyway: a workspace starts every service of the
    file that has no profile (or whose profile is chosen)."""
    if value is None:
        return
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise ConfigError(f"{source}: runServices: expected a list of service names")
    unknown = [name for name in value if name not in loaded]
    if unknown:
        raise ConfigError(
            f"{source}: runServices: {', '.join(map(repr, unknown))} not a service of {compose}"
        )
    left = [name for name in loaded if name not in {*value, service}]
    if left:
        raise ConfigError(
            f"{source}: runServices: a workspace starts every service of {compose} without a "
            f"profile, {', '.join(map(repr, left))} too",
            hint="give the services you do not want a profile in the Compose file, or leave "
            "runServices out",
        )
