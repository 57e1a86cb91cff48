"""Running one host gate as a process group that never outlives the gate.

A gate is a shell command; it may start children (``sleep 300 &``, test workers, servers). The
shell runs in its own session, so its process group id is its pid. When the shell exits, on a
timeout, on Ctrl-C (``KeyboardInterrupt``) and on SIGTERM, the WHOLE group is terminated:
SIGTERM first, then SIGKILL after :data:`GRACE_S` seconds for what is still there.

SIGTERM: the CLI root turns it into :class:`~nexus_cli.errors.Terminated` (a
``KeyboardInterrupt``; exit 143). Where nothing handles it (the handler is still ``SIG_DFL``:
Nexus used as a library), :func:`sigterm_raises` installs the same behaviour while gates run, so
the caller can clean up (kill the group, put the task back to work).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO

from nexus_cli.errors import Terminated

GRACE_S = 3.0


@dataclass
class ProcessOutcome:
    exit_code: int
    output: str
    timed_out: bool


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """While the block runs, SIGTERM raises :class:`Terminated` unless someone else handles it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous is not signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def group_alive(pgid: int) -> bool:
    """Whether any process of group ``pgid`` still exists (zombies included)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def terminate_group(pgid: int, grace_s: float = GRACE_S) -> None:
    """SIGTERM the group; SIGKILL whatever is left after ``grace_s`` seconds."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if not _has_live_member(pgid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _has_live_member(pgid: int) -> bool:
    """A non-zombie member of ``pgid`` exists (zombies are dead; their parent reaps them)."""
    if not group_alive(pgid):
        return False
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _read_all(stream: IO[bytes], chunks: list[bytes]) -> None:
    with stream:
        chunks.extend(iter(stream.readline, b""))


def run_group(command: str, cwd: Path, timeout_s: float) -> ProcessOutcome:
    """Run ``command`` with ``sh -c`` in a new session; the group is gone when this returns."""
    proc = subprocess.Popen(
        command,
        shell=True,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    chunks: list[bytes] = []
    assert proc.stdout is not None
    reader = threading.Thread(target=_read_all, args=(proc.stdout, chunks), daemon=True)
    reader.start()
    timed_out = False
    try:
        with sigterm_raises():
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                timed_out = True
    finally:
        # Always: the shell exited, timed out, or we were interrupted. Nothing of it stays.
        terminate_group(proc.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=GRACE_S)
        # A process that left the group (``setsid``) may hold the pipe open: stop waiting after
        # a second; the reader closes the pipe when that process is done with it.
        reader.join(1.0)
    output = b"".join(list(chunks)).decode("utf-8", "replace")
    if timed_out:
        output += f"\n[nexus] gate timed out after {timeout_s:g}s"
        return ProcessOutcome(-1, output, True)
    return ProcessOutcome(proc.returncode, output, False)
