"""What the engine's refusals to create or start a service's container mean: a host port taken
since it was allocated (:class:`PortTakenError`, which ``create`` and ``up`` answer by allocating
again), or anything else it refused, in its own words (:class:`EngineRefusedError`)."""

from __future__ import annotations

import re

from nexus_cli.errors import ConflictError, NexusError

_PORT_TAKEN = re.compile(
    r"Bind for [^ ]*:(\d+) failed: port is already allocated"
    r"|listen (?:tcp|udp)[46]? [^ ]*:(\d+): bind: address already in use"
)


class PortTakenError(ConflictError):
    """The engine could not bind a host port that was free when it was allocated."""

    def __init__(self, service: str, port: int) -> None:
        super().__init__(
            f"host port {port} of service {service!r} was taken by another program while the"
            " workspace started",
            hint="run the command again, or free the port",
            category="port_conflict",
        )
        self.service = service
        self.port = port


class EngineRefusedError(NexusError):
    """The engine refused to create or start a service's container (more CPUs than it has, a
    user the image lacks): its words, in one line."""

    category = "service_start"

    def __init__(self, service: str, step: str, exc: BaseException) -> None:
        why = getattr(exc, "explanation", None) or str(exc)
        super().__init__(
            f"the engine could not {step} service {service!r}: {why}",
            hint="check the service's settings (image, user, command, limits)",
        )
        self.service = service


def refused(exc: BaseException) -> bool:
    """Whether ``exc`` is the engine's answer to a request (not a lost connection)."""
    from docker.errors import APIError

    return isinstance(exc, APIError)


def meaning(exc: BaseException, service: str, step: str) -> NexusError | None:
    """What an error of the engine at ``step`` (``create`` or ``start``) of ``service`` means: a
    host port taken since it was allocated, or anything else it refused in its own words; None
    when it is not the engine's answer (a lost connection), raised as it is."""
    port = taken_port(exc)
    if port is not None:
        return PortTakenError(service, port)
    if refused(exc):
        return EngineRefusedError(service, step, exc)
    return None


def taken_port(exc: BaseException) -> int | None:
    """The host port an engine error says is taken, if that is what it says."""
    found = _PORT_TAKEN.search(str(exc))
    return None if found is None else int(found.group(1) or found.group(2))
