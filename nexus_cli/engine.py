"""The one way Nexus reaches a Docker engine.

Honours ``DOCKER_HOST`` (and ``DOCKER_TLS_VERIFY``/``DOCKER_CERT_PATH``) first, then the current
docker context (``DOCKER_CONTEXT`` or ``currentContext`` in ``~/.docker/config.json``), like the
docker CLI does. A missing or stopped engine becomes one :class:`DockerUnavailableError` naming
the endpoint and how to start it. An ``ssh://`` engine is reached through a socket that the user's
own ``ssh`` forwards (:mod:`nexus_cli.engine_ssh`), not through the Docker SDK's ``ssh://`` support.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nexus_cli import engine_ssh, long_lived
from nexus_cli.errors import DockerUnavailableError

if TYPE_CHECKING:
    import docker

CONNECT_TIMEOUT_SECONDS = 5  # to find out whether an engine answers at all
# For each API call after that: creating or starting a container on a busy machine can take many
# seconds, and a call cut short by the client leaves its work half-seen (docker-py's default: 60).
OPERATION_TIMEOUT_SECONDS = 120


def load_sdk() -> None:
    """Import the Docker SDK whole, in this thread, once; every use of the SDK begins here.

    Threads that import it for the first time at once can be handed each other's half-made
    modules (Python resolves a wait between two threads' imports that way), so a caller about to
    start threads that reach the engine loads it first. Its modules live until the process ends:
    they are imported with the cyclic collector off, then frozen (:mod:`nexus_cli.long_lived`).
    """
    if "docker.context" in sys.modules:
        return
    with long_lived.imports():
        import docker
        import docker.context  # noqa: F401  # what `endpoint` reads


def endpoint() -> tuple[str, str]:
    """Return ``(host, source)``: where the engine is expected and what said so."""
    host = os.environ.get("DOCKER_HOST", "").strip()
    if host:
        return host, "DOCKER_HOST"
    try:
        load_sdk()
        from docker.context import ContextAPI

        ctx = ContextAPI.get_current_context()
        if ctx is not None and ctx.Host:
            return str(ctx.Host), f"docker context {ctx.Name!r}"
    except Exception:
        pass
    return "unix:///var/run/docker.sock", "default socket"


LOCAL_SCHEMES = ("unix", "npipe", "fd")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where the engine is, and whether it runs on another machine.

    Remote is decided from the endpoint alone: a ``unix://`` (or ``npipe://``) socket is this
    machine's engine, which sees this machine's files; ``ssh://`` and ``tcp://`` (also
    ``tcp://127.0.0.1``: it may be a tunnel to another box) are treated as remote, whose view of
    the filesystem is not ours.
    """

    host: str
    source: str

    @property
    def scheme(self) -> str:
        return self.host.partition("://")[0].lower() if "://" in self.host else "unix"

    @property
    def remote(self) -> bool:
        return self.scheme not in LOCAL_SCHEMES

    @property
    def kind(self) -> str:
        """``local``, ``ssh`` or ``tcp`` (any other remote scheme says its own name)."""
        return "local" if not self.remote else self.scheme

    def ssh_target(self) -> list[str]:
        """``ssh`` arguments naming the engine's host (``[-p PORT] [-l USER] -- HOST``) for
        an ``ssh://`` endpoint; empty for any other (or an ``ssh://`` URL ssh cannot use)."""
        if self.scheme != "ssh":
            return []
        try:
            return list(engine_ssh.parse(self.host).ssh_args)
        except DockerUnavailableError:
            return []

    def to_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.host,
            "source": self.source,
            "remote": self.remote,
            "kind": self.kind,
        }


def current() -> Endpoint:
    """The engine Nexus would use now (:func:`endpoint`), with its kind."""
    return Endpoint(*endpoint())


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
    load_sdk()
    import docker
    from docker.errors import DockerException

    host, source = endpoint()
    try:
        if host.lower().startswith("ssh://"):  # the user's ssh forwards the engine's socket
            client = docker.DockerClient(base_url=engine_ssh.socket_url(host), timeout=timeout)
        elif source == "DOCKER_HOST":
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
        if host.lower().startswith("ssh://"):  # ssh logged in, but the socket there did not answer
            raise engine_ssh.unanswered(host, source) from exc
        raise DockerUnavailableError(
            f"Docker engine unavailable at {host} (DOCKER_HOST={os.environ.get('DOCKER_HOST', 'unset')})",
            hint=_start_hint(host, source),
        ) from exc
    return client
