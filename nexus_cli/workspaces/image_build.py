"""Images built from the worktree for the ``build:`` services of a project's Compose file.

Each workspace builds its own image (tagged by :func:`compose.build_tag`, labelled for the
workspace, so that deleting the workspace removes it), from the worktree's files: the context
and the Dockerfile must resolve inside the worktree after symlinks. An image that exists is
reused (as ``docker compose up`` does without ``--build``). Through the Docker SDK only.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from nexus_cli import fs
from nexus_cli.errors import ConfigError, NexusError
from nexus_cli.workspaces.service_model import ServiceSpec

if TYPE_CHECKING:
    from nexus_cli.workspaces.handle import Workspace
    from nexus_cli.workspaces.progress import Progress
    from nexus_cli.workspaces.template_model import Template

LOG_LINES = 10


def build_tag(workspace: Workspace, service: str) -> str:
    """The image the ``build:`` service ``service`` of ``workspace`` is tagged with (workspace
    names have no ``/`` and service names no ``.``, so the tag is unambiguous)."""
    return f"nexus-build-{workspace.project_id}:{workspace.name}.{service}"


def image_of(workspace: Workspace, service: ServiceSpec) -> str:
    """The image a service's container runs: its own, or the one built for this workspace."""
    return service.image if service.build is None else build_tag(workspace, service.name)


def build_images(client: Any, workspace: Workspace, template: Template, progress: Progress) -> int:
    """Build the images of the template's ``build:`` services that are missing; how many."""
    built = 0
    for service in template.services.values():
        if service.build is not None and build_image(client, workspace, service, progress):
            built += 1
    return built


def build_image(
    client: Any, workspace: Workspace, service: ServiceSpec, progress: Progress
) -> bool:
    """Build ``service``'s image from the worktree unless it exists (always, with ``pull_policy:
    build``); True when built."""
    from docker.errors import APIError, BuildError, ImageNotFound

    spec = service.build
    assert spec is not None
    tag = build_tag(workspace, service.name)
    if service.pull_policy != "build":
        try:
            client.images.get(tag)
            return False
        except ImageNotFound:
            pass
    worktree = workspace.worktree
    key = f"services.{service.name}.build"
    try:
        context = fs.resolve_inside(worktree, spec.context, what=key, allow_root=True)
        dockerfile = fs.resolve_inside(
            worktree, os.path.join(spec.context, spec.dockerfile), what=f"{key}.dockerfile"
        )
    except fs.PathEscapeError as exc:
        raise ConfigError(exc.message, hint="build paths must stay inside the worktree") from None
    if not dockerfile.is_file():
        raise ConfigError(f"{key}.dockerfile: {spec.dockerfile} not found in {context}")
    inside = fs.is_inside(dockerfile, context)
    step = f"build {service.name}"
    progress.begin(step)
    try:
        client.images.build(
            path=str(context),
            dockerfile=os.path.relpath(dockerfile, context) if inside else str(dockerfile),
            tag=tag,
            buildargs=dict(spec.args),
            target=spec.target,
            labels=workspace.labels(service.name),
            platform=service.platform or None,
            rm=True,
            forcerm=True,
        )
    except BuildError as exc:
        raise NexusError(
            f"cannot build the image of service {service.name!r}: {exc.msg}{_tail(exc.build_log)}",
            # raised by `create` (which then undoes itself) as by `up`: the same command again
            hint="fix the Dockerfile or the build: section, then run the command again",
        ) from None
    except APIError as exc:
        raise NexusError(
            f"cannot build the image of service {service.name!r}: {exc.explanation or exc}"
        ) from None
    progress.end(step)
    return True


def _tail(log: Any) -> str:
    lines: list[str] = []
    for entry in log or []:
        text = entry.get("stream") or entry.get("error") or "" if isinstance(entry, dict) else ""
        lines += [line for line in str(text).splitlines() if line.strip()]
    shown = "\n".join(lines[-LOG_LINES:])
    return f"; last build output:\n{shown}" if shown else ""
