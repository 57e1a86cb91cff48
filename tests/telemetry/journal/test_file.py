"""The journal's lock, with the interleavings forced: the test holds the lock and proves the other
party (a fold, a writer; a thread or a process) waits on it, by reading ``/proc/locks``."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from nexus_cli import paths
from nexus_cli.telemetry.db import store
from nexus_cli.telemetry.journal import entry, file, invocation, recorder

pytestmark = pytest.mark.skipif(
    not os.path.exists("/proc/locks"), reason="needs Linux /proc/locks to see who waits"
)
FOLD = """
from nexus_cli.telemetry.db import store
with store.opened():
    pass
"""
RECORD = """
import sys
from nexus_cli.telemetry.journal import invocation, recorder
inv = invocation.begin(["version"])
inv.command_path = ["version"]
sys.exit(0 if recorder.record(inv, 0) else 1)
"""


def _folder() -> Path:
    return paths.nexus_home() / paths.TELEMETRY_JOURNAL


def _record(n: int) -> None:
    for _ in range(n):
        inv = invocation.begin(["version"])
        inv.command_path = ["version"]
        assert recorder.record(inv, 0)


def _someone_waits_on(path: Path) -> bool:
    """Whether a lock request on ``path`` is blocked (``->`` lines of /proc/locks)."""
    inode = f":{os.stat(path).st_ino} "
    with open("/proc/locks") as fh:
        return any("->" in line and inode in line for line in fh)


def _poll(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def _count() -> int:
    with store.opened() as db:
        return int(db.execute("SELECT count(*) FROM events").fetchone()[0])


def _fold_in_a_thread() -> Callable[[], None]:
    folder = threading.Thread(target=lambda: store.opened().__enter__())
    folder.start()
    return lambda: folder.join(30)


def _fold_in_a_process() -> Callable[[], None]:
    proc = subprocess.Popen([sys.executable, "-c", FOLD], stderr=subprocess.PIPE)
    return lambda: _check(proc)


def _check(proc: subprocess.Popen[bytes]) -> None:
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()


@pytest.mark.parametrize("start_fold", [_fold_in_a_thread, _fold_in_a_process])
def test_a_fold_waits_for_a_writer_holding_the_journal_lock(
    start_fold: Callable[[], Callable[[], None]],
) -> None:
    """A writer between its open and its write holds the lock: the fold may not take the file
    until the write is done, so the record lands in what the fold reads (a thread of the same
    process waits too: flock locks belong to open files, not processes)."""
    _record(1)
    live = _folder() / file.JOURNAL_FILE
    with file.locked(str(_folder())):  # this test is the writer now
        fd = os.open(live, os.O_WRONLY | os.O_APPEND)
        finish = start_fold()
        assert _poll(lambda: _someone_waits_on(_folder() / file.LOCK_FILE))
        assert live.exists()  # not taken while the lock is held
        data = entry.encode(
            recorder.build_entry(invocation.Invocation([]), 0, time.time(), 1, True)
        )
        os.write(fd, data)
        os.close(fd)
    finish()
    assert not live.exists()
    assert not [p for p in _folder().iterdir() if p.name.startswith(file.SEGMENT_PREFIX)]
    assert _count() == 2


def test_a_writer_waits_while_a_fold_takes_the_file_and_appends_to_the_new_one() -> None:
    _record(2)
    live = _folder() / file.JOURNAL_FILE
    before = live.read_bytes()
    segment = _folder() / f"{file.SEGMENT_PREFIX}0-test"
    with file.locked(str(_folder())):  # this test is a fold taking the live file
        writer = subprocess.Popen([sys.executable, "-c", RECORD], stderr=subprocess.PIPE)
        assert _poll(lambda: _someone_waits_on(_folder() / file.LOCK_FILE))
        assert live.read_bytes() == before  # it has not written
        live.rename(segment)
    _check(writer)
    assert segment.read_bytes() == before  # nothing landed in the file taken
    assert live.read_bytes().count(entry.SEPARATOR) == 1  # its record went to the new one
    assert _count() == 3
