"""Run the agent command once: prompt on stdin, output to a log file, its own process group.

The agent is a shell command line (``claude -p``, ``codex exec -``, a script). It starts in a new
session, and nothing of that session's process group outlives the iteration: when the agent
exits, hits the time limit, or ``nexus loop`` is interrupted, the group (background children the
agent left behind included) gets SIGTERM, then SIGKILL after a grace period (:mod:`nexus_cli.proc`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from nexus_cli import proc
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
    """Run ``command`` once; its whole group is stopped when it ends, times out or is interrupted
    (an interrupt is re-raised once the group is gone)."""
    start = time.monotonic()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
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
    ms = int((time.monotonic() - start) * 1000)
    code = -1 if done.timed_out else done.returncode
    seen = bool(promise) and contains(log_path, promise or "")
    return AgentRun(code, ms, promise_seen=seen, timed_out=done.timed_out)
