"""Nexus's one lock helper: :func:`locked` holds an exclusive ``flock`` lock for a block.

Modelled on pre-commit's ``file_lock.py``. Every lock in Nexus (ports, state, tasks, sync,
personas, the telemetry journal and salt, first-use migrations) goes through it;
:mod:`nexus_cli.fs` re-exports it as ``fs.locked``. ``flock`` locks belong to an open file, so
they also keep apart the threads of one process (``nexus mcp``), and the kernel drops them when
the process dies: a crash never leaves a stale lock behind.

It is on the recording path of every command, so it imports only :mod:`fcntl` and ``os``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Iterator

from nexus_cli.errors import ConflictError, StateError

_LOCK_FLAGS = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC


def hint_for(exc: OSError) -> str | None:
    """The hint for a file that cannot be opened or written: a full disk, or permissions."""
    if exc.errno == errno.ENOSPC:
        return "the disk is full: free some space and run the command again"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "check the folder's permissions (or that the file system is writable)"
    return None


@contextlib.contextmanager
def locked(path: os.PathLike[str] | str, *, blocking: bool = True) -> Iterator[None]:
    """Hold an exclusive ``fcntl`` lock on the file ``path`` (created 0600 if missing).

    With ``blocking=False`` a lock held elsewhere raises :class:`ConflictError` at once.
    """
    lock = os.fspath(path)
    try:
        fd = os.open(lock, _LOCK_FLAGS, 0o600)
    except OSError as exc:
        raise open_error(lock, exc) from None
    with holding(fd, lock, blocking=blocking):
        yield


def open_error(lock: str, exc: OSError) -> StateError:
    """The error for a lock file that cannot be opened (``lock`` as shown to the user)."""
    if isinstance(exc, IsADirectoryError):
        return StateError(
            f"lock file {lock} is a folder", hint=f"remove it (rmdir {lock}) and try again"
        )
    return StateError(
        f"cannot open lock file {lock}: {exc.strerror or exc}",
        hint=hint_for(exc) or f"remove {lock} if it is not a regular file",
    )


@contextlib.contextmanager
def holding(fd: int, lock: str, *, blocking: bool = True) -> Iterator[None]:
    """Hold the ``flock`` of the open lock file ``fd`` for the block, then close ``fd``."""
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            raise ConflictError(f"{lock} is locked by another Nexus process") from None
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
