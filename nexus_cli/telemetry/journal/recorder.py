"""Record one journal entry per invocation; :mod:`nexus_cli.telemetry.db.fold` folds the journal
into ``telemetry.db``.

This runs after every command, so it only appends: the entry is one complete record appended to
``$NEXUS_HOME/telemetry-journal/events`` under the journal's lock
(:func:`nexus_cli.telemetry.journal.file.append`). It never raises: a home that cannot be written
costs the event, never the command's output or exit code.

Two steps happen only for some entries, and their modules are loaded by name only then, the way
the CLI loads a command's module only when that command runs (``lazy.py``), so that a plain
command such as ``nexus --version`` loads neither ``hashlib`` nor the process module
(``tests/test_hot_path_imports.py`` pins this):

* an entry naming a workspace or a task hashes the name (:data:`PRIVACY`, which makes the salt
  on first use);
* when the journal grows past :data:`FOLD_BYTES`, it is folded in a child process
  (:data:`CHILD`), so it stays small without a reader.
"""

from __future__ import annotations

import importlib
import os
import time
from typing import Any

from nexus_cli import __version__, jsonio
from nexus_cli.telemetry.journal import entry, file, settings
from nexus_cli.telemetry.journal.invocation import Invocation, current

FOLD_BYTES = 256 * 1024  # ~600 entries: fold once per this many bytes appended
# Loaded only when an entry needs them (see the module's docstring).
PRIVACY = "nexus_cli.telemetry.journal.privacy"  # hash_name(): the salt and hashlib
CHILD = "nexus_cli.telemetry.journal.child"  # fold_now(): the fold, in a child process
_COUNTERS = ("workspaces_created", "tasks_completed")


def _session_id() -> str | None:
    """``NEXUS_SESSION_ID`` made printable (at most 128 characters), or None when unset."""
    explicit = os.environ.get("NEXUS_SESSION_ID", "").strip()
    if explicit and not explicit.isprintable():  # undecodable bytes or control characters
        explicit = "".join(ch for ch in explicit if ch.isprintable()).strip()
    return explicit[:128] or None


def _raw_data(inv: Invocation) -> str | None:
    counts = {k: inv.fields[k] for k in _COUNTERS if inv.fields.get(k)}
    if not (inv.option_names or inv.metrics or inv.signals or counts):
        return None
    data: dict[str, Any] = {}
    if inv.option_names:
        data["options"] = inv.option_names
    if inv.metrics:
        data["metrics"] = inv.metrics
    if inv.signals:
        data["signals"] = inv.signals
    if counts:  # per-event counters, so windowed stats need not trust session boundaries
        data["counts"] = counts
    return jsonio.dumps(data, compact=True, sort_keys=True, ascii_only=True)


def _hash(value: Any, kind: str) -> str | None:
    if value is None or value == "":
        return None
    return str(importlib.import_module(PRIVACY).hash_name(str(value), kind=kind))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def build_entry(
    inv: Invocation, exit_code: int, now: float, duration_ms: int, main: bool
) -> dict[str, Any]:
    """The journal entry for ``inv`` (see :data:`entry.FIELDS`)."""
    fields = inv.fields
    success = exit_code == 0
    category = fields.get("error_category")
    if category is None and not success:
        category = "error"
    return {
        "v": entry.VERSION,
        "uid": os.urandom(16).hex(),
        "t": int(now * 1000),
        "ppid": os.getppid(),
        "sid": _session_id(),
        "main": 1 if main else 0,
        "event_type": str(fields.get("event_type") or "command"),
        "workspace_hash": _hash(fields.get("workspace"), "workspace"),
        "task_hash": _hash(fields.get("task"), "task"),
        "command": inv.command or None,
        "duration_ms": max(0, int(duration_ms)),
        "success": 1 if success else 0,
        "error_category": _text(category),
        "template_used": _text(fields.get("template_used")),
        "services_count": _int(fields.get("services_count")),
        "ports_used": _int(fields.get("ports_used")),
        "raw_data": _raw_data(inv),
        "exit_code": int(exit_code),
        "nexus_version": __version__,
    }


def _store(inv: Invocation, exit_code: int, duration_ms: int, main: bool) -> bool:
    try:
        data = entry.encode(build_entry(inv, exit_code, time.time(), duration_ms, main))
        before = file.append(data)
    except Exception:
        return False
    if before // FOLD_BYTES != (before + len(data)) // FOLD_BYTES:
        importlib.import_module(CHILD).fold_now()
    return True


def record(inv: Invocation, exit_code: int) -> bool:
    """Store the invocation. Returns False (silently) when it could not be stored."""
    duration_ms = int((time.perf_counter() - inv.started) * 1000)
    return _store(inv, exit_code, duration_ms, main=True)


def record_event(inv: Invocation, exit_code: int, duration_ms: int) -> bool:
    """Store one extra event (e.g. a ``loop`` iteration) inside the current invocation.

    ``inv`` is a fresh :class:`Invocation` whose fields say what happened (``event_type``,
    ``task``...). Only the ``events`` row is written: the session counters stay with the command's
    own event. Honours the telemetry switches; returns False (silently) when nothing was stored.
    """
    parent = current()
    if not settings.decide(bool(parent and parent.no_telemetry))[0]:
        return False
    return _store(inv, exit_code, duration_ms, main=False)
