"""Run a nexus command whose question a person answers on its controlling terminal.

The process gets a real pseudo-terminal as its controlling terminal (a session of its own,
``TIOCSCTTY``), which is what ``/dev/tty`` opens; its stdout and stderr stay pipes, so that
``--json`` output is read clean. The question is waited for on the terminal, then answered.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import subprocess
import termios
import time
from pathlib import Path

from tests.conftest import nexus_exe

QUESTION_END = b"[y/N]"
WAIT_S = 60.0  # for a question that never comes: a hang, not a timing the test depends on


def answered(
    args: list[str], answer: str, *, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``nexus ARGS`` answered ``answer`` at its terminal; its exit code, stdout and stderr."""
    leader, follower = pty.openpty()

    def own_terminal() -> None:
        os.setsid()
        fcntl.ioctl(follower, termios.TIOCSCTTY, 0)

    try:
        proc = subprocess.Popen(
            [*nexus_exe(), *args],
            cwd=cwd,
            env=dict(os.environ) if env is None else env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=own_terminal,
            pass_fds=(follower,),
        )
    finally:
        os.close(follower)
    try:
        _wait_for_question(leader, proc)
        os.write(leader, answer.encode() + b"\n")
        out, err = proc.communicate(timeout=WAIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(leader)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _wait_for_question(leader: int, proc: subprocess.Popen[str]) -> None:
    seen = b""
    deadline = time.monotonic() + WAIT_S
    while QUESTION_END not in seen:
        left = deadline - time.monotonic()
        ready, _, _ = select.select([leader], [], [], max(left, 0))
        if not ready:
            raise AssertionError(f"no question on the terminal within {WAIT_S:g}s: {seen!r}")
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the process ended and closed the terminal
            chunk = b""
        if not chunk:
            out, err = proc.communicate(timeout=WAIT_S)
            raise AssertionError(f"ended without asking: {seen!r} {out!r} {err!r}")
        seen += chunk
