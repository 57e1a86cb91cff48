"""An operation's deadline and its cancellation, which every wait and process inside it honours.

An operation (a ``workspace create``, an MCP tool call, a gate run) sets its overall deadline
with :func:`deadline_after`; every :func:`nexus_cli.proc.run` inside it is bounded by it, and a
wait that is not a process asks :func:`time_left`. Another thread (``nexus mcp`` when a client
cancels a call or goes away; a batch create on Ctrl-C) stops it with a :class:`Cancellation`
set around it by :func:`cancellable`: runs end their process groups, and waits raise
:class:`~nexus_cli.errors.Cancelled` at their next :func:`check_cancelled`. Undoing what a stopped
operation made runs under :func:`clean_up_within`, with a deadline of its own and no
cancellation. Both live in context variables, so each thread and task has its own.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections.abc import Callable, Iterator

from nexus_cli.errors import Cancelled

POLL_S = 0.05  # how often a wait that cannot be woken looks at its cancellation


class Cancellation:
    """Set by another thread to stop an operation; ``reason`` says why (``cancelled``,
    ``terminated``…) and ends up in the :class:`~nexus_cli.errors.Cancelled` raised."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = "cancelled"

    def cancel(self, reason: str = "cancelled") -> None:
        self.reason = reason
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float) -> bool:
        return self._event.wait(timeout)


_cancellation: contextvars.ContextVar[Cancellation | None] = contextvars.ContextVar(
    "nexus_cancellation", default=None
)
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "nexus_deadline", default=None
)


@contextlib.contextmanager
def deadline_after(seconds: float) -> Iterator[float]:
    """The operation in this block must end within ``seconds`` (an enclosing, earlier deadline
    stays); every :func:`run` inside is bounded by it. Yields the monotonic deadline."""
    outer = _deadline.get()
    mine = time.monotonic() + seconds
    token = _deadline.set(mine if outer is None else min(outer, mine))
    try:
        yield _deadline.get() or mine
    finally:
        _deadline.reset(token)


@contextlib.contextmanager
def clean_up_within(seconds: float) -> Iterator[None]:
    """Undoing what an operation made gets ``seconds`` of its own, even once that operation's
    deadline has passed (the usual reason for the undo); a cancellation no longer applies."""
    deadline = _deadline.set(time.monotonic() + seconds)
    cancellation = _cancellation.set(None)
    try:
        yield
    finally:
        _cancellation.reset(cancellation)
        _deadline.reset(deadline)


def time_left() -> float | None:
    """Seconds left before the overall deadline of the operation around (None: it has none)."""
    return seconds_until(_deadline.get())


@contextlib.contextmanager
def cancellable(cancellation: Cancellation) -> Iterator[None]:
    """Runs in this block (this thread or context) end when ``cancellation`` is set."""
    token = _cancellation.set(cancellation)
    try:
        yield
    finally:
        _cancellation.reset(token)


@contextlib.contextmanager
def when_cancelled(action: Callable[[], object]) -> Iterator[None]:
    """Run ``action`` (in a thread of its own) if the operation around is cancelled while the
    block runs: for a wait that cannot look at its cancellation itself, such as a read of an
    engine's stream, ``action`` ends what is waited for. The block then ends as it would, and
    :func:`check_cancelled` after it raises."""
    cancellation = _cancellation.get()
    if cancellation is None:
        yield
        return
    finished = threading.Event()

    def watch() -> None:
        while not finished.is_set():
            if cancellation.wait(POLL_S):
                with contextlib.suppress(Exception):  # what it ends may be over already
                    action()
                return

    watcher = threading.Thread(target=watch, name="cancel-watch", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        finished.set()
        watcher.join()


def check_cancelled() -> None:
    """Raise :class:`~nexus_cli.errors.Cancelled` if the operation around it was cancelled."""
    event = _cancellation.get()
    if event is not None and event.is_set():
        raise Cancelled(f"{event.reason} by the caller", reason=event.reason)


def current_deadline() -> float | None:
    """The monotonic deadline of the operation around (None: it has none)."""
    return _deadline.get()


def current_cancellation() -> Cancellation | None:
    """The cancellation of the operation around (None: nothing can cancel it)."""
    return _cancellation.get()


def seconds_until(until: float | None) -> float | None:
    """Seconds from now to the monotonic time ``until``, never below 0 (None: no such time)."""
    return None if until is None else max(until - time.monotonic(), 0.0)
