"""The one lock helper: exclusive, per open file, refused at once when asked not to wait."""

from __future__ import annotations

import errno
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from nexus_cli import fs
from nexus_cli.errors import ConflictError, StateError
from nexus_cli.locks import hint_for, locked


def test_locked_refuses_a_folder_and_non_blocking_conflict(tmp_path: Path) -> None:
    (tmp_path / "ports.lock").mkdir()
    with pytest.raises(StateError, match="is a folder"), locked(tmp_path / "ports.lock"):
        pass
    lock = tmp_path / "x.lock"
    with locked(lock):
        code = (
            "import sys\nfrom nexus_cli.locks import locked\n"
            "from nexus_cli.errors import ConflictError\n"
            f"try:\n    with locked({str(lock)!r}, blocking=False): sys.exit(0)\n"
            "except ConflictError: sys.exit(7)\n"
        )
        assert subprocess.run([sys.executable, "-c", code]).returncode == 7


def test_hints_for_disk_full_and_permissions() -> None:
    assert hint_for(OSError(errno.ENOSPC, "full")) == (
        "the disk is full: free some space and run the command again"
    )
    for code in (errno.EACCES, errno.EPERM, errno.EROFS):
        assert hint_for(OSError(code, "no")) == (
            "check the folder's permissions (or that the file system is writable)"
        )
    assert hint_for(OSError(errno.EIO, "io")) is None


def test_fs_and_safe_path_locks_share_the_flock_of_this_module(tmp_path: Path) -> None:
    """One lock helper: a lock taken through ``fs.locked`` (folder by folder from a root) and
    the recording path's ``locks.locked`` on the same file exclude each other."""
    lock = tmp_path / "state" / "x.lock"
    lock.parent.mkdir()
    with (
        fs.locked(lock, root=tmp_path),
        pytest.raises(ConflictError),
        locked(lock, blocking=False),
    ):
        pass
    with (
        locked(lock),
        pytest.raises(ConflictError),
        fs.locked(lock, root=tmp_path, blocking=False),
    ):
        pass


def test_threads_of_one_process_exclude_each_other(tmp_path: Path) -> None:
    """flock locks belong to the open file: two threads of one process do not share one."""
    lock = tmp_path / "t.lock"
    inside: list[int] = []
    overlap: list[bool] = []
    entered = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with locked(lock):
            inside.append(1)
            entered.set()
            release.wait(10)
            inside.pop()

    holder = threading.Thread(target=hold)
    holder.start()
    assert entered.wait(10)

    def wait_for_it() -> None:
        with locked(lock):
            overlap.append(bool(inside))

    waiter = threading.Thread(target=wait_for_it)
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive()  # blocked while the other thread holds the lock
    release.set()
    holder.join(10)
    waiter.join(10)
    assert overlap == [False]
    assert (lock.stat().st_mode & 0o777) == 0o600
