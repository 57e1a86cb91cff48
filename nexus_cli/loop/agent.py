"""Run the agent command once: prompt on stdin, output to a log file, its own process group.

The agent is a shell command line (``claude -p``, ``codex exec -``, a script). It starts in a new
session, and nothing of that session's process group outlives the iteration: when the agent
exits, hits the time limit, or ``nexus loop`` is interrupted, the group (background children the
agent left behind included) gets SIGTERM, then SIGKILL after a grace period (:mod:`nexus_cli.proc`).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from nexus_cli import proc, safe_path
from nexus_cli.errors import CannotStartError

GRACE_S = 5.0
_CHUNK = 1 << 16


@dataclass(frozen=True)
class AgentRun:
    exit_code: int
    duration_ms: int
    promise_seen: bool = False
    timed_out: bool = False
    started: bool = True


def contains(path: Path, needle: str) -> bool:
    """Whether ``needle`` occurs in the file at ``path`` (read in chunks)."""
    try:
        with path.open("rb") as stream:
            return _stream_contains(stream, needle)
    except OSError:
        return False


def _stream_contains(stream: BinaryIO, needle: str) -> bool:
    data = needle.encode("utf-8")
    if not data:
        return False
    keep = b""
    while chunk := stream.read(_CHUNK):
        if data in keep + chunk:
            return True
        keep = (keep + chunk)[-len(data) :]
    return False


def run_agent(
    command: str,
    prompt: str,
    *,
    cwd: Path,
    env: dict[str, str],
    log_path: Path,
    log_root: Path | None = None,
    promise: str | None = None,
    timeout_s: float | None = None,
) -> AgentRun:
    """Run ``command`` once; its whole group is stopped when it ends, times out or is interrupted
    (an interrupt is re-raised once the group is gone).

    The log (0600) and its folders are made from ``log_root`` (the repository) down without
    following links (:mod:`nexus_cli.safe_path`); the promise is looked for in that same file.
    """
    start = time.monotonic()
    if log_root is None:  # a log folder the caller chose itself
        log_root = log_path.parent
        log_root.mkdir(parents=True, exist_ok=True)
    flags = os.O_RDWR | os.O_CREAT | os.O_TRUNC
    fd = safe_path.open_file(log_root, log_path, flags, 0o600, makedirs=True)
    with os.fdopen(fd, "w+b") as log:
        try:
            done = proc.run(
                ["/bin/sh", "-c", command],
                cwd=cwd,
                env=env,
                input=prompt,
                timeout=timeout_s,
                new_session=True,
                output_file=log,
                grace_s=GRACE_S,
            )
        except CannotStartError as exc:
            log.write(f"[nexus] cannot start the agent: {exc.message}\n".encode())
            return AgentRun(127, 0, started=False)
        log.seek(0)
        seen = bool(promise) and _stream_contains(log, promise or "")
    ms = int((time.monotonic() - start) * 1000)
    code = -1 if done.timed_out else done.returncode
    return AgentRun(code, ms, promise_seen=seen, timed_out=done.timed_out)
