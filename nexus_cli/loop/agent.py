"""Run the agent command once: prompt on stdin, output to a log file, its own process group.

The agent is a shell command line (``claude -p``, ``codex exec -``, a script). It starts in a new
session so that an interrupt, a time limit or the end of ``nexus loop`` can stop it and everything
it started: SIGTERM to the group, then SIGKILL after a grace period.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

GRACE_S = 5.0
_CHUNK = 1 << 16


@dataclass(frozen=True)
class AgentRun:
    exit_code: int
    duration_ms: int
    promise_seen: bool = False
    timed_out: bool = False
    started: bool = True


def stop_group(proc: subprocess.Popen[bytes], grace_s: float = GRACE_S) -> None:
    """SIGTERM the agent's process group, wait up to ``grace_s``, then SIGKILL what is left."""
    for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(wait)
            _kill_rest(proc.pid)
            return
        except subprocess.TimeoutExpired:
            continue


def _kill_rest(pgid: int) -> None:
    """The leader is gone; children it left in the group get SIGKILL too."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _feed(proc: subprocess.Popen[bytes], prompt: bytes) -> None:
    stdin = proc.stdin
    if stdin is None:  # pragma: no cover - always a pipe here
        return
    try:
        stdin.write(prompt)
    except (BrokenPipeError, OSError):
        pass  # the agent does not read its stdin: fine
    finally:
        with contextlib.suppress(OSError):
            stdin.close()


def contains(path: Path, needle: str) -> bool:
    """Whether ``needle`` occurs in the file at ``path`` (read in chunks)."""
    data = needle.encode("utf-8")
    if not data:
        return False
    keep = b""
    try:
        with path.open("rb") as stream:
            while chunk := stream.read(_CHUNK):
                if data in keep + chunk:
                    return True
                keep = (keep + chunk)[-len(data) :]
    except OSError:
        return False
    return False


def run_agent(
    command: str,
    prompt: str,
    *,
    cwd: Path,
    env: dict[str, str],
    log_path: Path,
    promise: str | None = None,
    timeout_s: float | None = None,
) -> AgentRun:
    """Run ``command`` once; stop its whole group on timeout or interrupt (then re-raise)."""
    start = time.monotonic()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        try:
            proc = subprocess.Popen(
                command,
                shell=True,
                cwd=cwd,
                env=env,
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            log.write(f"[nexus] cannot start the agent: {exc}\n".encode())
            return AgentRun(127, 0, started=False)
        feeder = threading.Thread(target=_feed, args=(proc, prompt.encode()), daemon=True)
        feeder.start()
        timed_out = False
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            stop_group(proc)
        except BaseException:
            stop_group(proc)
            raise
    ms = int((time.monotonic() - start) * 1000)
    code = -1 if timed_out else int(proc.returncode)
    seen = bool(promise) and contains(log_path, promise or "")
    return AgentRun(code, ms, promise_seen=seen, timed_out=timed_out)
