"""The one invocation being run, and what commands tell telemetry about it.

Commands and logic modules call :func:`note` to attach context (a workspace or task name, the
template used, counts, step timings). Names are hashed and values are never stored: only what is
listed in :data:`FIELDS` reaches the database. This module is imported on every invocation, so it
imports nothing heavy.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

# What a command may attach to its event. Everything else is refused.
FIELDS = frozenset(
    {
        "event_type",  # 'command' by default; 'workspace', 'task', 'persona', 'gpu', ...
        "workspace",  # a workspace NAME: stored only as a salted hash
        "task",  # a task ID: stored only as a salted hash
        "template_used",
        "services_count",
        "ports_used",
        "error_category",
        "workspaces_created",
        "tasks_completed",
    }
)


class Invocation:
    """Mutable record of the current command, filled in as the CLI resolves and runs it."""

    __slots__ = (
        "argv",
        "command_path",
        "fields",
        "metrics",
        "no_telemetry",
        "option_names",
        "signals",
        "started",
    )

    def __init__(self, argv: list[str]) -> None:
        self.started = time.perf_counter()
        self.argv = argv
        self.command_path: list[str] = []
        self.option_names: list[str] = []
        self.no_telemetry = False
        self.fields: dict[str, Any] = {}
        self.metrics: dict[str, float] = {}
        self.signals: list[dict[str, Any]] = []

    @property
    def command(self) -> str:
        return " ".join(self.command_path)


# A context variable rather than a global: `nexus mcp` runs tool calls concurrently (each in its
# own task and worker thread), and each call is its own invocation.
_CURRENT: ContextVar[Invocation | None] = ContextVar("nexus_invocation", default=None)


def begin(argv: list[str]) -> Invocation:
    """Make a new invocation of ``argv`` the current one (until another begins)."""
    inv = Invocation(argv)
    _CURRENT.set(inv)
    return inv


@contextlib.contextmanager
def running(argv: list[str]) -> Iterator[Invocation]:
    """A new invocation of ``argv``, current for the block only (the CLI's whole command): after
    it, notes go to the invocation that was current before (none, in a plain process)."""
    inv = Invocation(argv)
    token = _CURRENT.set(inv)
    try:
        yield inv
    finally:
        _CURRENT.reset(token)


def current() -> Invocation | None:
    return _CURRENT.get()


def note(**fields: Any) -> None:
    """Attach context to the current invocation's event (see :data:`FIELDS`)."""
    _current = _CURRENT.get()
    if _current is None:
        return
    unknown = set(fields) - FIELDS
    if unknown:
        raise ValueError(f"unknown telemetry fields: {sorted(unknown)}")
    for key, value in fields.items():
        if key in ("workspaces_created", "tasks_completed"):
            _current.fields[key] = int(_current.fields.get(key, 0)) + int(value)
        else:
            _current.fields[key] = value


def metric(name: str, value: float) -> None:
    """Record a numeric measurement (e.g. ``worktree_creation_time_ms``) in the event's raw_data."""
    _current = _CURRENT.get()
    if _current is not None:
        _current.metrics[name] = round(float(value), 3)


def signal(kind: str, **counts: int | float | str | bool) -> None:
    """Record a notable occurrence inside the invocation (``port_conflict``, ``gate_run``...).

    Values must be categories, numbers or flags — never user-supplied text.
    """
    _current = _CURRENT.get()
    if _current is not None:
        _current.signals.append({"kind": kind, **counts})
