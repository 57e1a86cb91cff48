"""Acting on a process after an impact analysis: graceful stop, suspend, resume, kill.

:mod:`nexus_cli.gpu.guards` decides first whether the process may be signalled at all (never PID 1,
kernel threads, nexus or its ancestors, other users' processes unless root forces it). The
process's create time is then checked immediately before signalling, and each signal goes through
psutil, which re-checks the identity of every PID it sends to, so a reused PID is never hit.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from nexus_cli.errors import ConflictError, NexusError, NotFoundError
from nexus_cli.gpu import guards, procinfo
from nexus_cli.gpu.impact import graceful_signal

if TYPE_CHECKING:
    import psutil

ACTIONS = ("graceful", "suspend", "resume", "kill")
_CREATE_TIME_TOLERANCE_S = 0.05


class PermissionRefusedError(NexusError):
    category = "permission"


@dataclass
class ActionResult:
    action: str
    signal: str
    pids: list[int]
    skipped: list[str] = field(default_factory=list)  # descendants left alone, and why


def check_identity(proc: psutil.Process, expected_create_time: float) -> None:
    import psutil

    try:
        now = proc.create_time()
    except psutil.NoSuchProcess:
        raise NotFoundError(f"process {proc.pid} exited; nothing was sent") from None
    if abs(now - expected_create_time) > _CREATE_TIME_TOLERANCE_S:
        raise ConflictError(
            f"PID {proc.pid} now belongs to a different process (create time changed);"
            " nothing was sent",
            hint=f"re-run `nexus gpu impact {proc.pid}` to analyse the process that has it now",
        )


def _descendants(
    proc: psutil.Process, acting_uid: int, force_other_user: bool
) -> tuple[list[psutil.Process], list[str]]:
    """The descendants that may be signalled, and a note for each one left alone."""
    import psutil

    try:
        kids = proc.children(recursive=True)
    except psutil.Error:
        return [], []
    allowed: list[psutil.Process] = []
    skipped: list[str] = []
    for kid in kids:
        reason = guards.refusal(kid.pid, acting_uid, force_other_user=force_other_user)
        if reason is None:
            allowed.append(kid)
        else:
            skipped.append(reason.replace("refused to signal", "left alone"))
    return allowed, skipped


def perform(
    pid: int,
    action: str,
    expected_create_time: float,
    acting_uid: int | None = None,
    *,
    force_other_user: bool = False,
) -> ActionResult:
    """Send ``action``'s signal to ``pid`` (and, where it applies, its descendants)."""
    import psutil

    if action not in ACTIONS:
        raise NexusError(f"unknown action {action!r}", category="usage")
    uid = os.getuid() if acting_uid is None else acting_uid
    guards.check(pid, uid, force_other_user=force_other_user)
    proc = procinfo.get_process(pid)
    kids: list[psutil.Process] = []
    skipped: list[str] = []
    if action == "graceful":
        number = graceful_signal(pid)
    else:
        number = {"suspend": signal.SIGSTOP, "resume": signal.SIGCONT, "kill": signal.SIGKILL}[
            action
        ]
        kids, skipped = _descendants(proc, uid, force_other_user)
    # Suspend/kill children first and resume the parent first, so no side waits on a stopped peer.
    order = [*kids, proc] if action in ("suspend", "kill") else [proc, *kids]
    check_identity(proc, expected_create_time)
    sent: list[int] = []
    for target in order:
        try:
            target.send_signal(number)  # psutil re-checks that the PID is still this process
            sent.append(target.pid)
        except psutil.NoSuchProcess:
            if target is proc:
                raise NotFoundError(f"process {pid} exited before the signal") from None
        except psutil.AccessDenied:
            if target is proc:
                raise PermissionRefusedError(f"not allowed to signal PID {pid}") from None
    return ActionResult(action, procinfo.signal_name(number), sent, skipped)
