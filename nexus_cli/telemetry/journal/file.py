"""The journal file: where it lives, its lock, appending one record, and reading records back.

``$NEXUS_HOME/telemetry-journal/`` holds:

* ``events``, the live file: each recorded invocation appends one whole record
  (:mod:`~nexus_cli.telemetry.journal.entry`) with a single ``O_APPEND`` ``write``;
* ``events.lock``, the journal's lock (:func:`nexus_cli.locks.locked`, an ``flock``, like every
  other lock in Nexus). A writer holds it from opening ``events`` to its one write; a fold holds
  it while it renames ``events`` to a segment. So a writer has either finished writing to the
  file the fold takes, or opens the new ``events`` after the rename: nothing lands in a segment
  that is being read. ``flock`` locks belong to an open file, so they also keep apart the threads
  of one process (``nexus mcp`` records and folds in threads) with no second lock;
* ``fold-<time>-<random>``, segments taken by a fold and not yet folded (names sort by time);
* ``fold.lock`` (one fold at a time) and ``autofold.lock`` (the recorder's own fold).

This module is on the recording path of every command: it imports neither ``sqlite3`` nor
``json``, only :mod:`nexus_cli.home` and :mod:`nexus_cli.locks` of Nexus. Entries are read back by :mod:`nexus_cli.telemetry.journal.reader`; the database side
of the fold is :mod:`nexus_cli.telemetry.db.fold`.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from nexus_cli import home, locks
from nexus_cli.errors import StateError
from nexus_cli.telemetry.journal import entry

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

JOURNAL_FILE = "events"
LOCK_FILE = "events.lock"
FOLD_LOCK_FILE = "fold.lock"
AUTOFOLD_LOCK_FILE = "autofold.lock"
SEGMENT_PREFIX = "fold-"
_CHUNK = 1024 * 1024
_APPEND_FLAGS = (
    os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
)
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def journal_dir() -> str:
    return os.path.join(home.nexus_home_str(), home.TELEMETRY_JOURNAL)


def locked(folder: str) -> AbstractContextManager[None]:
    """The journal's lock (held by each append, and by a fold while it takes the live file)."""
    _refuse_link(folder)
    return locks.locked(os.path.join(folder, LOCK_FILE))


def _refuse_link(folder: str) -> None:
    """The journal folder, one level under ``$NEXUS_HOME``, must be a real folder: a link there
    would send the lock and the journal elsewhere (issue 25, rule 1). Checked with ``os`` alone:
    this runs on every command (see :mod:`nexus_cli.safe_path` for the general path chain)."""
    with contextlib.suppress(FileNotFoundError):
        if stat.S_ISLNK(os.lstat(folder).st_mode):
            raise StateError(
                f"{folder} is a symbolic link; Nexus does not follow links under "
                f"{os.path.dirname(folder)}",
                hint=f"remove the link ({folder}) and run the command again",
            )


def _open_in(folder: str, name: str, flags: int, mode: int) -> int:
    """``folder/name`` opened through the folder's own descriptor, links refused at both."""
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        return os.open(name, flags | os.O_NOFOLLOW, mode, dir_fd=dir_fd)
    finally:
        os.close(dir_fd)


def append(data: bytes) -> int:
    """Append ``data`` (one whole record) to the journal; returns the journal's size before."""
    folder = journal_dir()
    if not os.path.isdir(folder):
        home.ensure_private_dir(os.path.dirname(folder))  # $NEXUS_HOME, 0700
        home.ensure_private_dir(folder)
    path = os.path.join(folder, JOURNAL_FILE)
    with locked(folder):  # the folder and the file opened from $NEXUS_HOME, links refused
        fd = _open_in(folder, JOURNAL_FILE, _APPEND_FLAGS, 0o600)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise OSError(f"{path} is not a regular file")
            if os.write(fd, data) != len(data):
                raise OSError("short write to the telemetry journal")
            return st.st_size
        finally:
            os.close(fd)


def pending() -> bool:
    """Whether the journal folder holds anything to fold (one ``listdir``)."""
    try:
        names = os.listdir(journal_dir())
    except OSError:
        return False
    return any(n == JOURNAL_FILE or n.startswith(SEGMENT_PREFIX) for n in names)


def take_live(folder: str) -> None:
    """Rename the live file to a new segment, under the journal's lock (so no write is torn)."""
    live = os.path.join(folder, JOURNAL_FILE)
    # named by time first, so that segments left by an interrupted fold are folded in order
    segment = os.path.join(folder, f"{SEGMENT_PREFIX}{time.time_ns():020d}-{os.urandom(8).hex()}")
    with locked(folder):
        try:
            os.rename(live, segment)
        except FileNotFoundError:
            return


def segments(folder: str) -> list[str]:
    """The names of the segments waiting to be folded, oldest first."""
    return sorted(n for n in os.listdir(folder) if n.startswith(SEGMENT_PREFIX))


def open_segment(path: str) -> int | None:
    """A read fd on the segment ``path``; None (and the thing removed) when it is not a regular
    file: a symbolic link put in the journal's place is removed, never followed."""
    try:
        fd = os.open(path, _READ_FLAGS)
    except OSError:
        discard(path)
        return None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        discard(path)
        return None
    return fd


def discard(path: str) -> None:
    """Remove what is not a journal file (a link itself, not its target; a FIFO); never raises."""
    with contextlib.suppress(OSError):  # a folder, say: left alone, and skipped by every fold
        os.unlink(path)


def remove(segment: str) -> None:
    """Remove a folded segment (its marker, committed with its events, guards the gap)."""
    os.unlink(segment)


def records(fd: int) -> Iterator[bytes]:
    """The records of a segment (the bytes between separators); oversized ones as ``b"?"``."""
    buf = b""
    dropping = False  # inside a record already reported as oversized
    while chunk := os.read(fd, _CHUNK):
        parts = (buf + chunk).split(entry.SEPARATOR)
        buf = parts.pop()
        for part in parts:
            if not dropping:
                yield part
            dropping = False
        if len(buf) > entry.MAX_ENTRY_BYTES:
            if not dropping:
                yield b"?"
            buf, dropping = b"", True
    if buf and not dropping:
        yield buf
