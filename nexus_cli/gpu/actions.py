"""Acting on a process after an impact analysis: graceful stop, suspend, resume, kill.

Only the user's own processes are signalled (unless running as root), and the process's create
time is checked immediately before signalling, so a PID reused by another program is never hit.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass

from nexus_cli.errors import ConflictError, NexusError
from nexus_cli.gpu import procinfo
from nexus_cli.gpu.impact import graceful_signal

ACTIONS = ("graceful", "suspend", "resume", "kill")
_CREATE_TIME_TOLERANCE_S = 0.05


class PermissionRefusedError(NexusError):
    category = "permission"


@dataclass
class ActionResult:
    action: str
    signal: str
    pids: list[int]


def _check_identity(pid: int, expected_create_time: float) -> None:
    proc = procinfo.get_process(pid)
    if abs(proc.create_time() - expected_create_time) > _CREATE_TIME_TOLERANCE_S:
        raise ConflictError(
            f"PID {pid} now belongs to a different process (create time changed); nothing was sent",
            hint=f"re-run `nexus gpu impact {pid}` to analyse the process that has it now",
        )


def _check_owner(pid: int, acting_uid: int) -> None:
    if acting_uid == 0:
        return
    uid = procinfo.get_process(pid).uids().real
    if uid != acting_uid:
        raise PermissionRefusedError(
            f"PID {pid} belongs to another user (uid {uid}); nexus only signals your own processes",
            hint="ask its owner, or run as root",
        )


def _targets(pid: int, action: str) -> tuple[int, list[int]]:
    """The signal to send and the PIDs it goes to (children too for suspend/resume/kill)."""
    import psutil

    if action == "graceful":
        return graceful_signal(pid), [pid]
    number = {"suspend": signal.SIGSTOP, "resume": signal.SIGCONT, "kill": signal.SIGKILL}[action]
    try:
        kids = [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        kids = []
    # Suspend children first and resume the parent first, so no side waits on a stopped peer.
    order = [*kids, pid] if action in ("suspend", "kill") else [pid, *kids]
    return number, order


def perform(
    pid: int, action: str, expected_create_time: float, acting_uid: int | None = None
) -> ActionResult:
    """Send ``action``'s signal to ``pid`` (and, where it applies, its children)."""
    if action not in ACTIONS:
        raise NexusError(f"unknown action {action!r}", category="usage")
    _check_owner(pid, os.getuid() if acting_uid is None else acting_uid)
    number, pids = _targets(pid, action)
    _check_identity(pid, expected_create_time)
    sent: list[int] = []
    for target in pids:
        try:
            os.kill(target, number)
            sent.append(target)
        except ProcessLookupError:
            continue  # a child that exited meanwhile
        except PermissionError:
            if target == pid:
                raise PermissionRefusedError(f"not allowed to signal PID {pid}") from None
    return ActionResult(action, procinfo.signal_name(number), sent)
