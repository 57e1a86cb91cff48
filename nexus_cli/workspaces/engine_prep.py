"""Making the engine ready for a workspace's services: the images pulled (each once, of its
platform, as its pull policy says), the network and the named volumes made. ``create`` runs it
while git makes the worktree, ``up`` first."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nexus_cli import deadlines
from nexus_cli.errors import DeadlineError, NexusError, NotFoundError
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
            require_image(client, image, platform)
        else:
            always = "always" in wanted
            ensure_image(client, image, report, always=always, platform=platform)
        progress.end(step)
    return (time.perf_counter() - started) * 1000


PullProgress = Callable[[int, int], None]  # (bytes done, bytes in all)


def require_image(client: Any, image: str, platform: str = "") -> None:
    """``image`` must be on the engine already (``pull_policy: never``), of ``platform`` when
    one is named: nothing is pulled."""
    found = _local_platform(client, image)
    if found is None:
        raise NotFoundError(
            f"image {image} is not on the engine, and its pull_policy is never",
            hint="pull or build it yourself (docker pull, docker build), or change pull_policy",
        )
    if not same_platform(found, platform):
        raise NotFoundError(
            f"image {image} on the engine is {found}, not {platform}, and its pull_policy is never",
            hint=f"pull it yourself (docker pull --platform {platform} {image}), or change "
            "pull_policy",
        )


def _local_platform(client: Any, image: str) -> str | None:
    """The ``OS/ARCH[/VARIANT]`` of the engine's ``image``; None when it has none of that name."""
    from docker.errors import ImageNotFound

    try:
        attrs = client.images.get(image).attrs
    except ImageNotFound:
        return None
    parts = [attrs.get("Os") or "", attrs.get("Architecture") or "", attrs.get("Variant") or ""]
    return "/".join(part for part in parts if part)


def same_platform(found: str, wanted: str) -> bool:
    """Whether an image of platform ``found`` is one of ``wanted`` ("" wants any); a variant
    counts only when both name one (``linux/arm64`` is ``linux/arm64/v8``)."""
    if not wanted:
        return True
    have, want = found.split("/"), wanted.split("/")
    return have[:2] == want[:2] and (len(have) < 3 or len(want) < 3 or have[2] == want[2])


def ensure_image(
    client: Any,
    image: str,
    on_progress: PullProgress | None = None,
    *,
    always: bool = False,
    platform: str = "",
) -> bool:
    """Make ``image`` local (of ``platform``, when one is named), pulling it (with byte
    progress) when absent or of another platform, or every time with ``always``
    (``pull_policy: always``). True when pulled."""
    from docker.errors import APIError

    if not always:
        found = _local_platform(client, image)
        if found is not None and same_platform(found, platform):
            return False
    repo, _, tag = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "latest")
    layers: dict[str, tuple[int, int]] = {}
    pulling = {"platform": platform} if platform else {}
    try:
        for event in client.api.pull(
            repo, tag=tag or "latest", stream=True, decode=True, **pulling
        ):
            deadlines.check_cancelled()
            left = deadlines.time_left()
            if left is not None and left <= 0:
                raise DeadlineError(
                    f"pulling image {image} passed the operation's deadline",
                    hint="check that the engine can reach its registry, then run it again",
                )
            if "error" in event:
                raise NexusError(f"cannot pull image {image}: {event['error']}")
            detail = event.get("progressDetail") or {}
            if event.get("id") and detail.get("total"):
                layers[event["id"]] = (int(detail.get("current", 0)), int(detail["total"]))
                if on_progress is not None:
                    on_progress(
                        sum(c for c, _ in layers.values()), sum(t for _, t in layers.values())
                    )
    except APIError as exc:
        raise NexusError(
            f"cannot pull image {image}: {exc.explanation or exc}",
            hint="check the image name and that the engine can reach its registry",
        ) from None
    return True
