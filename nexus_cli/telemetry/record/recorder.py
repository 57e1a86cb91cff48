"""Append one journal entry per invocation; the store folds the journal into ``telemetry.db``.

This runs after every command, so it is built for the common path: no ``sqlite3`` (nor ``json``
for a plain entry) is imported. The entry is one complete record appended with a single
``O_APPEND`` ``write`` to ``$NEXUS_HOME/telemetry-journal/events``, under a ``lockf`` lock held
just for that write (so a fold that renamed the file waits for writers in flight; see
:mod:`nexus_cli.telemetry.store.journal`). It never raises: a home that cannot be written costs
the event, never the command's output or exit code. When the journal grows past
:data:`FOLD_BYTES` the recorder folds it itself, so it stays small without a reader.
"""

from __future__ import annotations

import _thread
import os
import time
from typing import Any

from nexus_cli import __version__, paths
from nexus_cli.telemetry.record import entry
from nexus_cli.telemetry.record.invocation import Invocation, current

JOURNAL_FILE = "events"
FOLD_BYTES = 256 * 1024  # ~600 entries: fold once per this many bytes appended
_COUNTERS = ("workspaces_created", "tasks_completed")
# lockf locks do not exclude threads of one process (`nexus mcp` records and folds in threads):
# this lock does, for appends and for a fold's wait on the writers in flight.
APPEND_LOCK = _thread.allocate_lock()
_OPEN_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def journal_dir() -> str:
    return os.path.join(paths.nexus_home_str(), paths.TELEMETRY_JOURNAL)


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
    import json  # only when there is something to encode

    data: dict[str, Any] = {}
    if inv.option_names:
        data["options"] = inv.option_names
    if inv.metrics:
        data["metrics"] = inv.metrics
    if inv.signals:
        data["signals"] = inv.signals
    if counts:  # per-event counters, so windowed stats need not trust session boundaries
        data["counts"] = counts
    return json.dumps(data, separators=(",", ":"), sort_keys=True)


def _hash(value: Any, kind: str) -> str | None:
    if value is None or value == "":
        return None
    from nexus_cli.telemetry.record.privacy import hash_name

    return hash_name(str(value), kind=kind)


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


def _open_live(folder: str) -> int:
    """An fd on the live journal file, locked, that is still the file at its path."""
    path = os.path.join(folder, JOURNAL_FILE)
    while True:
        try:
            fd = os.open(path, _OPEN_FLAGS, 0o600)
        except FileNotFoundError:
            paths.ensure_private_dir(os.path.dirname(folder))  # $NEXUS_HOME, 0700
            paths.ensure_private_dir(folder)
            fd = os.open(path, _OPEN_FLAGS, 0o600)
        try:
            os.lockf(fd, os.F_LOCK, 0)  # waits only while a fold takes the file over
            st = os.fstat(fd)
            if not (st.st_mode & 0o170000) == 0o100000:  # S_ISREG without importing stat
                raise OSError(f"{path} is not a regular file")
            try:
                now_at_path = os.stat(path, follow_symlinks=False)
            except FileNotFoundError:
                now_at_path = None
            if now_at_path is not None and (now_at_path.st_ino, now_at_path.st_dev) == (
                st.st_ino,
                st.st_dev,
            ):
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # a fold renamed it away: append to the new live file instead


def append(data: bytes) -> int:
    """Append ``data`` (one whole record) to the journal; returns the journal's size before."""
    with APPEND_LOCK:
        fd = _open_live(journal_dir())
        try:
            size = os.fstat(fd).st_size
            if os.write(fd, data) != len(data):
                raise OSError("short write to the telemetry journal")
            return size
        finally:
            os.close(fd)  # also releases the lockf lock


def _store(inv: Invocation, exit_code: int, duration_ms: int, main: bool) -> bool:
    try:
        data = entry.encode(build_entry(inv, exit_code, time.time(), duration_ms, main))
        before = append(data)
    except Exception:
        return False
    if before // FOLD_BYTES != (before + len(data)) // FOLD_BYTES:
        fold_now()
    return True


AUTOFOLD_LOCK = "autofold.lock"


def fold_now() -> None:
    """Fold the journal into the database now, unless another recorder is already folding it.

    Never raises, never waits for another recorder's fold: the next reader folds what is left.
    """
    try:
        from nexus_cli import fs
        from nexus_cli.telemetry.store import store

        with fs.locked(os.path.join(journal_dir(), AUTOFOLD_LOCK), blocking=False), store.opened():
            pass
    except Exception:
        pass


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
    from nexus_cli.telemetry.record import settings

    parent = current()
    if not settings.decide(bool(parent and parent.no_telemetry))[0]:
        return False
    return _store(inv, exit_code, duration_ms, main=False)
