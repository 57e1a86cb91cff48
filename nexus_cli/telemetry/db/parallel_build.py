"""A full build of the roll-ups (``telemetry rebuild``, or a fold from nothing) in two processes.

On a machine with more than one CPU and at least :data:`PARALLEL_FROM` events, the fold that
builds the roll-ups from nothing hands the second half of the event ids to a child process
(``python -m nexus_cli.telemetry.db.child build-part``) and folds the first half itself, chunk by
chunk with its mark, as a one-process build does. The child folds its half with the same code
(:func:`rollups.build_part`) into a database file of its own beside ``telemetry.db``, which
holds only the roll-up tables and reads the events through an ``ATTACH`` opened read-only.
The child then finds the retry pairs of every event up to its last id (what a one-process build
does at its end). Once the parent's mark reaches the child's first id, it adds the child's rows
with the merges of a fold (sums, min, max, the smallest sessions), takes its retry pairs (unless
the parent put an event into quarantine meanwhile: they are then found again at the end) and
moves its mark to the child's last id, in one transaction (:func:`rollups.merge_part`). Merging is order-free, so the tables are those one
process makes (``tests/telemetry/db/test_parallel_build.py`` compares them).

Whatever stops the child (it cannot start, it fails or is killed, it meets a row the fold would
put into quarantine: its view of the events is read-only, so it cannot) leaves the parent to
fold the second half itself, as before. The child's file is removed in every case: by the parent,
or, when the parent was killed, by the child itself before its next chunk (and by the next build).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

from nexus_cli import proc, sqlite_open
from nexus_cli.errors import NexusError
from nexus_cli.telemetry.db.handle import Db

PARALLEL_FROM = 400_000  # events; below it a child's start (about 0.2 s) costs more than it saves
# What the child does besides folding, in events the parent folds meanwhile: its start (a
# Python and its imports, about 0.3 s) and the retry pairs of all events (about a fourteenth of
# the time their fold takes). Measured on the 2-core development machine; a wrong guess only
# makes one process wait for the other a little.
CHILD_START_EVENTS = 40_000
RETRY_SHARE = 0.035
PART_SUFFIX = ".build-part"  # the child's database, beside telemetry.db
PART_EVENTS_KEY = "part_events"  # in the child's maintenance table: how many events it folded
CHILD_MODULE = "nexus_cli.telemetry.db.child"
_BUSY_TIMEOUT_S = 30.0


@dataclass
class Part:
    """The child folding the ids ``(low, top]`` into the database at ``path``."""

    low: int
    top: int
    path: str
    child: proc.Child
    quarantined: int  # rows in quarantine when it started

    def finished(self) -> bool:
        """Wait for the child; whether it folded its whole part."""
        return self.child.wait() == 0

    def close(self) -> None:
        """End the child if it still runs and remove its file."""
        if self.child.poll() is None:
            proc.end_child(self.child)
        remove(self.path)


def start(db: Db, top: int, quarantined: int) -> Part | None:
    """A child folding the second part of ``(0, top]``, for a build from nothing; None when
    one process does it all (fewer than :data:`PARALLEL_FROM` events, one CPU, a database in
    memory). ``quarantined``: the rows in quarantine now."""
    if top < PARALLEL_FROM or _cpus() < 2 or not os.path.isfile(db.path):
        return None
    # The child also starts a Python and finds the retry pairs: its part is smaller by that.
    low = min(top - 1, int(top * (0.5 + RETRY_SHARE)) + CHILD_START_EVENTS // 2)
    path = f"{db.path}{PART_SUFFIX}"
    remove(path)
    argv = [sys.executable, "-P", "-m", CHILD_MODULE, "build-part", db.path, path, str(low)]
    log = os.open(os.devnull, os.O_WRONLY)
    try:
        child = proc.spawn_child(
            [*argv, str(top)], cwd=os.path.dirname(db.path) or ".", env=os.environ, log_fd=log
        )
    except NexusError:  # cannot start: one process does it all
        return None
    finally:
        os.close(log)
    return Part(low, top, path, child, quarantined)


def _cpus() -> int:
    """The CPUs this process may run on (its affinity, where the system says)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def open_part(path: str, source: str) -> sqlite3.Connection:
    """The child's database, new at ``path``, with ``source`` attached read-only as ``src``."""
    remove(path)
    conn = sqlite_open.open_private(path, timeout=_BUSY_TIMEOUT_S, uri=True)
    sqlite_open.attach_read_only(conn, source, "src")
    return conn


def remove(path: str) -> None:
    """The child's database and SQLite's files beside it."""
    for leftover in (path, f"{path}-journal", f"{path}-wal", f"{path}-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(leftover).unlink()
