"""Waiting for a workspace's container: healthy, or a one-shot service completed.

A wait wakes on the engine's ``health_status``/``die`` events for the container (a stream read by
a thread), with a poll every :data:`HEALTH_POLL_S` as the fallback that keeps deadlines and
cancellation (:func:`nexus_cli.deadlines.check_cancelled`) working; on an ``ssh://`` engine it only
polls. A service that fails its wait is one error with its last log lines.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

from nexus_cli import deadlines
from nexus_cli.errors import NexusError
from nexus_cli.workspaces.handle import workspace_of

HEALTH_POLL_S = 0.1
LOG_LINES = 10


def last_log_lines(container: Any, lines: int = LOG_LINES) -> str:
    try:
        return bytes(container.logs(tail=lines)).decode("utf-8", "replace").rstrip()
    except Exception:
        return ""


class StateChanges:
    """Wakes a wait on a container as soon as the engine reports that its health changed or
    that it stopped, instead of at the wait's next poll.

    The engine's event stream (filtered to the container) is opened on the first
    :meth:`wait`, which then returns at once so that the caller looks again: a change made before
    the stream was open is seen by that look, every later one wakes the next wait. The poll stays
    the floor (deadlines and cancellation are checked at each wake-up), and a stream that cannot
    be opened (and an ``ssh://`` engine) leaves the plain poll. :meth:`close` ends the stream
    and its reading thread.
    """

    EVENTS = ("health_status", "die", "destroy")

    def __init__(self, container: Any) -> None:
        self._container = container
        self._changed = threading.Event()
        self._stream: Any = None
        self._opened = False

    def wait(self, timeout_s: float) -> None:
        if not self._opened:
            self._opened = True
            if self._container.client.api.base_url.startswith("http+docker://ssh"):
                # the SDK cannot close a stream over ssh:// from another thread: poll only
                time.sleep(timeout_s)
                return
            try:
                self._stream = self._container.client.events(
                    decode=True,
                    filters={"container": self._container.id, "event": list(self.EVENTS)},
                )
            except Exception:  # no event stream (an old engine, a proxy): the poll alone
                time.sleep(timeout_s)
                return
            threading.Thread(target=self._read, name="engine-events", daemon=True).start()
            return
        self._changed.wait(timeout_s)
        self._changed.clear()

    def _read(self) -> None:
        with contextlib.suppress(Exception):  # closed under it: the wait is over
            for _event in self._stream:
                self._changed.set()

    def __enter__(self) -> StateChanges:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._stream is not None:
            with contextlib.suppress(Exception):
                self._stream.close()


def wait_healthy(container: Any, service: str, timeout_s: float) -> float:
    """Wait until the container's healthcheck passes; returns the seconds waited."""
    with StateChanges(container) as changes:
        started = time.monotonic()
        while True:
            state = _state(container)
            status = (state.get("Health") or {}).get("Status")
            if status == "healthy" or (status is None and state.get("Running")):
                return time.monotonic() - started
            if not state.get("Running"):
                raise _exited(container, service, state)
            if status == "unhealthy" or time.monotonic() - started > timeout_s:
                reason = (
                    "is unhealthy" if status == "unhealthy" else f"not healthy after {timeout_s:g}s"
                )
                raise _health_error(container, service, reason)
            changes.wait(HEALTH_POLL_S)


def wait_still_running(container: Any, service: str, until: float) -> None:
    """Return once the container has been running until ``until`` (a :func:`time.monotonic`
    time); a container that stops before then is an error naming the service, raised as soon as
    the engine says it died (its ``die`` event), not at the end of the window. Past ``until``
    it is one look at the container."""
    with StateChanges(container) as changes:
        while True:
            state = _state(container)
            if not state.get("Running"):
                raise _exited(container, service, state)
            left = until - time.monotonic()
            if left <= 0:
                return
            changes.wait(min(HEALTH_POLL_S, left))


def wait_completed(container: Any, service: str, timeout_s: float) -> float:
    """Wait until the container exits with code 0 (``service_completed_successfully``)."""
    with StateChanges(container) as changes:
        started = time.monotonic()
        while True:
            state = _state(container)
            if not state.get("Running") and state.get("Status") in ("exited", "dead"):
                if state.get("ExitCode") == 0:
                    return time.monotonic() - started
                raise _exited(container, service, state)
            if time.monotonic() - started > timeout_s:
                raise _health_error(container, service, f"did not complete in {timeout_s:g}s")
            changes.wait(HEALTH_POLL_S)


def _state(container: Any) -> dict[str, Any]:
    """The container's ``State`` as the engine has it now (a batch create interrupted, or an MCP
    call cancelled, ends the wait here: see :func:`nexus_cli.deadlines.check_cancelled`)."""
    deadlines.check_cancelled()
    container.reload()
    state: dict[str, Any] = container.attrs.get("State", {})
    return state


def _exited(container: Any, service: str, state: dict[str, Any]) -> ServiceFailedError:
    return _health_error(container, service, f"exited with code {state.get('ExitCode')}")


class ServiceFailedError(NexusError):
    """A service that exited, did not become healthy or did not complete: its last log lines
    are in the message, and the hint names the command that shows the rest."""

    category = "health_timeout"

    def __init__(self, message: str, *, workspace: str, service: str) -> None:
        super().__init__(message, hint=f"see `nexus workspace logs {workspace} {service}`")
        self.workspace = workspace
        self.service = service


def _health_error(container: Any, service: str, reason: str) -> ServiceFailedError:
    logs = last_log_lines(container)
    tail = f"; last log lines:\n{logs}" if logs else " (no log output)"
    return ServiceFailedError(
        f"service {service!r} {reason}{tail}",
        workspace=workspace_of(container.labels),
        service=service,
    )
