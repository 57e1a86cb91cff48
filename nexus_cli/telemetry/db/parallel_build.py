"""A full build of the roll-ups (``telemetry rebuild``, or a fold from nothing) in two processes.

On a machine with more than one CPU and at least :data:`PARALLEL_FROM` events, the fold that
builds the roll-ups from nothing starts a child process
(``python -m nexus_cli.telemetry.db.child build-part``). The two share the event ids ``(0, top]``
from both ends, through a :class:`Frontier`: the parent folds chunk by chunk upward from its mark,
as a one-process build does, and the child, once it has found the retry pairs of every event up
to ``top`` (what a one-process build does at its end), folds chunks downward from ``top``. Each
takes its next chunk under a lock, so no id is taken twice, and the chunks shrink as the ids left
do, so the two run out of work at about the same time whatever their speeds (a child that starts
late, a loaded CPU).

The child folds with the same code (:func:`child.build_part`) into a database file of its own
beside ``telemetry.db``, which holds only the roll-up tables and reads the events through an
``ATTACH`` opened read-only. When the parent finds nothing left to take, it waits for the child,
adds its rows with the merges of a fold (sums, min, max, the smallest sessions), takes its retry
pairs (unless the parent put an event into quarantine meanwhile: they are then found again at the
end) and moves its mark to ``top``, in one transaction (:func:`rollups.merge_part`). Merging is
order-free, so the tables are those one process makes (``tests/telemetry/db/test_parallel_build.py``
compares them).

Whatever stops the child (it cannot start, it fails or is killed, it meets a row the fold would
put into quarantine: its view of the events is read-only, so it cannot) leaves the parent to fold
the ids the child had taken itself, as a one-process build does. The child's files are removed in
every case: by the parent, or, when the parent was killed, by the child itself before its next
chunk (and by the next build).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from nexus_cli import fs, locks, proc, safe_path, sqlite_open
from nexus_cli.errors import NexusError
from nexus_cli.telemetry.db.handle import Db

PARALLEL_FROM = 400_000  # events; below it a child's start (about 0.2 s) costs more than it saves
# The smallest chunk either process takes (while more ids than that are left): a chunk costs a
# few statements whatever its size, and the last one taken is what the other may wait for.
MIN_TAKE = 25_000
PART_SUFFIX = ".build-part"  # the child's database, beside telemetry.db
FRONTIER_SUFFIX = ".frontier"  # beside the child's database: the ids neither has taken yet
PART_EVENTS_KEY = "part_events"  # in the child's maintenance table: how many events it folded
PART_LOW_KEY = "part_low"  # and the lowest id of its part: it folded (part_low, top]
PART_KEYS = (PART_LOW_KEY, PART_EVENTS_KEY)
CHILD_MODULE = "nexus_cli.telemetry.db.child"
_BUSY_TIMEOUT_S = 30.0
_IDS = struct.Struct("<qq")


class Frontier:
    """The ids neither process has taken yet, ``(low, high]``, in a small file that each reads
    and writes under an ``flock`` of it: the parent takes its chunks from ``low`` upward, the
    child from ``high`` downward. A chunk is at most a quarter of the ids left (and at least
    :data:`MIN_TAKE`), so the last chunks are small and neither waits long for the other.

    What the file says is checked: anything but two ids with ``0 <= low <= high <= top`` (or no
    file at all) leaves nothing to take (the parent then folds the child's part itself, see
    :func:`rollups.fold`)."""

    def __init__(self, path: str, top: int) -> None:
        self.path, self.top = path, top

    @classmethod
    def create(cls, path: str, low: int, top: int) -> Frontier:
        fs.atomic_write(path, _IDS.pack(low, top), mode=0o600, fsync=False)
        return cls(path, top)

    def take_up(self, low: int, end: int) -> int:
        """The parent, whose ids end at ``low``, takes ``(low, e]`` with ``e <= end``: returns
        ``e`` (``low`` when the child's ids begin there)."""
        with self._held() as (fd, ids):
            if ids is None or ids[0] != low:
                return low
            taken = min(end, ids[1], low + _size(ids))
            os.pwrite(fd, _IDS.pack(taken, ids[1]), 0)
            return taken

    def take_down(self, high: int, size: int) -> int:
        """The child, whose ids begin after ``high``, takes ``(s, high]`` of at most ``size``
        ids: returns ``s`` (``high`` when nothing is left)."""
        with self._held() as (fd, ids):
            if ids is None or ids[1] != high:
                return high
            taken = max(ids[0], high - min(size, _size(ids)))
            os.pwrite(fd, _IDS.pack(ids[0], taken), 0)
            return taken

    @contextlib.contextmanager
    def _held(self) -> Iterator[tuple[int, tuple[int, int] | None]]:
        directory, name = os.path.split(self.path)
        try:
            fd = safe_path.open_file(directory or ".", name, os.O_RDWR)
        except FileNotFoundError:  # removed under the build: nothing more to take
            yield -1, None
            return
        with locks.holding(fd, self.path):
            data = os.pread(fd, _IDS.size, 0)
            ids = _IDS.unpack(data) if len(data) == _IDS.size else None
            if ids is not None and not 0 <= ids[0] <= ids[1] <= self.top:
                ids = None
            yield fd, ids


def _size(ids: tuple[int, int]) -> int:
    left = ids[1] - ids[0]
    return max(min(MIN_TAKE, left), left // 4)


@dataclass
class Part:
    """The child folding the ids it takes from ``top`` down into the database at ``path``.
    ``claimed``: where the parent's ids end so far; ``low``: where the child's begin, once the
    parent found nothing more to take (None before)."""

    top: int
    path: str
    child: proc.Child
    quarantined: int  # rows in quarantine when it started
    frontier: Frontier
    claimed: int
    low: int | None = None

    def take(self, low: int, end: int) -> int:
        """The end of the parent's next chunk from ``low`` (its mark), at most ``end``: ``low``
        once the child's ids begin there (:attr:`low` is set then)."""
        if low >= self.claimed:
            self.claimed = self.frontier.take_up(low, end)
        if self.claimed == low:
            self.low = low
        return min(end, self.claimed)

    def finished(self) -> bool:
        """Wait for the child; whether it folded every id it took."""
        return self.child.wait() == 0

    def close(self) -> None:
        """End the child if it still runs and remove its files."""
        if self.child.poll() is None:
            proc.end_child(self.child)
        remove(self.path)


def start(db: Db, top: int, quarantined: int) -> Part | None:
    """A child sharing the ids ``(0, top]`` with this process, for a build from nothing; None
    when one process does it all (fewer than :data:`PARALLEL_FROM` events, one CPU, a database
    in memory). ``quarantined``: the rows in quarantine now. The parent's first chunk is taken
    before the child starts."""
    if top < PARALLEL_FROM or _cpus() < 2 or not os.path.isfile(db.path):
        return None
    path = f"{db.path}{PART_SUFFIX}"
    remove(path)
    frontier = Frontier.create(f"{path}{FRONTIER_SUFFIX}", 0, top)
    first = frontier.take_up(0, top)
    argv = [sys.executable, "-P", "-m", CHILD_MODULE, "build-part", db.path, path, str(top)]
    log = os.open(os.devnull, os.O_WRONLY)
    try:
        child = proc.spawn_child(
            argv, cwd=os.path.dirname(db.path) or ".", env=os.environ, log_fd=log
        )
    except NexusError:  # cannot start: one process does it all
        remove(path)
        return None
    finally:
        os.close(log)
    return Part(top, path, child, quarantined, frontier, claimed=first)


def _cpus() -> int:
    """The CPUs this process may run on (its affinity, where the system says)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def open_part(path: str, source: str) -> sqlite3.Connection:
    """The child's database, new at ``path``, with ``source`` attached read-only as ``src``."""
    _unlink(_database_files(path))
    conn = sqlite_open.open_private(path, timeout=_BUSY_TIMEOUT_S, uri=True)
    sqlite_open.attach_read_only(conn, source, "src")
    return conn


def remove(path: str) -> None:
    """The child's database, SQLite's files beside it and the frontier."""
    _unlink((*_database_files(path), f"{path}{FRONTIER_SUFFIX}"))


def _database_files(path: str) -> tuple[str, ...]:
    return (path, f"{path}-journal", f"{path}-wal", f"{path}-shm")


def _unlink(paths: tuple[str, ...]) -> None:
    for leftover in paths:
        with contextlib.suppress(FileNotFoundError):
            Path(leftover).unlink()
