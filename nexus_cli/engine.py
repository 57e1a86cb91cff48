"""The one way Nexus reaches a Docker engine.

Honours ``DOCKER_HOST`` (and ``DOCKER_TLS_VERIFY``/``DOCKER_CERT_PATH``) first, then the current
docker context (``DOCKER_CONTEXT`` or ``currentContext`` in ``~/.docker/config.json``), like the
docker CLI does. A missing or stopped engine becomes one :class:`DockerUnavailableError` naming
the endpoint and how to start it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from nexus_cli.errors import DockerUnavailableError

if TYPE_CHECKING:
    import docker

CONNECT_TIMEOUT_SECONDS = 5  # to find out whether an engine answers at all
# For each API call after that: creating or starting a container on a busy machine can take many
# seconds, and a call cut short by the client leaves its work half-seen (docker-py's default: 60).
OPERATION_TIMEOUT_SECONDS = 120


def endpoint() -> tuple[str, str]:
    """Return ``(host, source)``: where the engine is expected and what said so."""
    host = os.environ.get("DOCKER_HOST", "").strip()
    if host:
        return host, "DOCKER_HOST"
    try:
        from docker.context import ContextAPI

        ctx = ContextAPI.get_current_context()
        if ctx is not None and ctx.Host:
            return str(ctx.Host), f"docker context {ctx.Name!r}"
    except Exception:
        pass
    return "unix:///var/run/docker.sock", "default socket"


def _start_hint(host: str, source: str) -> str:
    if host.startswith("unix://"):
        return (
            f"no Docker engine answers at {host} ({source}); start one with "
            "`sudo systemctl start docker` (or `sudo dockerd &`), or set DOCKER_HOST to a "
            "running engine"
        )
    return f"check that the engine at {host} ({source}) is running and reachable, or change DOCKER_HOST"


def connect(timeout: int = CONNECT_TIMEOUT_SECONDS) -> docker.DockerClient:
    """A connected Docker client, or :class:`DockerUnavailableError` when no engine answers the
    first request within ``timeout`` seconds; later requests may take OPERATION_TIMEOUT_SECONDS."""
    import docker
    from docker.errors import DockerException

    host, source = endpoint()
    try:
        if source == "DOCKER_HOST":
            client = docker.from_env(timeout=timeout)
        elif source.startswith("docker context"):
            from docker.context import ContextAPI

            ctx = ContextAPI.get_current_context()
            kwargs: dict[str, Any] = {"base_url": host, "timeout": timeout}
            if ctx is not None and ctx.TLSConfig:
                kwargs["tls"] = ctx.TLSConfig
            client = docker.DockerClient(**kwargs)
        else:
            client = docker.DockerClient(base_url=host, timeout=timeout)
        client.ping()
        client.api.timeout = max(timeout, OPERATION_TIMEOUT_SECONDS)
    except (DockerException, OSError, ValueError) as exc:
        raise DockerUnavailableError(
            f"Docker engine unavailable at {host} (DOCKER_HOST={os.environ.get('DOCKER_HOST', 'unset')})",
            hint=_start_hint(host, source),
        ) from exc
    return client
