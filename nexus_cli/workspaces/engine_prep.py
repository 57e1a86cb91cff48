"""Making the engine ready for a workspace's services: the images pulled (each once), the network
and the named volumes made. ``create`` runs it while git makes the worktree, ``up`` first."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from nexus_cli.telemetry.journal import invocation
from nexus_cli.workspaces import docker_services
from nexus_cli.workspaces.template_model import Template

if TYPE_CHECKING:
    from nexus_cli.workspaces.handle import Workspace
    from nexus_cli.workspaces.progress import Progress


def prepare_engine(
    client: Any,
    workspace: Workspace,
    template: Template,
    progress: Progress,
) -> float:
    """Pull missing images and create the network and volumes; returns the pull time in ms."""
    pull_ms = _pull_images(client, template, progress)
    _record_pull(pull_ms)
    docker_services.ensure_network(client, workspace)
    for volume in {v.source for s in template.services.values() for v in s.volumes if v.named}:
        docker_services.ensure_volume(client, workspace, volume)
    return pull_ms


def _record_pull(pull_ms: float) -> None:
    """Add ``pull_ms`` to the invocation's ``docker_pull_time_ms`` (this thread's invocation)."""
    inv = invocation.current()
    before = inv.metrics.get("docker_pull_time_ms", 0.0) if inv is not None else 0.0
    invocation.metric("docker_pull_time_ms", before + pull_ms)


def _pull_images(client: Any, template: Template, progress: Progress) -> float:
    started = time.perf_counter()
    # (image, platform) -> the pull policies of the services that run it
    policies: dict[tuple[str, str], set[str]] = {}
    for service in template.services.values():
        if service.build is None:
            policies.setdefault((service.image, service.platform), set()).add(service.pull_policy)
    for (image, platform), wanted in policies.items():
        step = f"image {image}" + (f" ({platform})" if platform else "")
        progress.begin(step)

        def report(done: int, total: int, step: str = step) -> None:
            progress.advance(step, done, total)

        if wanted == {"never"}:
            docker_services.require_image(client, image, platform)
        else:
            always = "always" in wanted
            docker_services.ensure_image(client, image, report, always=always, platform=platform)
        progress.end(step)
    return (time.perf_counter() - started) * 1000
