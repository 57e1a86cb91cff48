"""Which processes `nexus gpu` may signal, decided before any signal is sent.

Refused: PID 1 (init: its "children" are every process), kernel threads, nexus's own process and
its ancestors (signalling them stops nexus itself, or the shell that runs it), and other users'
processes (root may act on them only with ``force_other_user``). Each refusal is one sentence
that names the PID and the reason.
"""

from __future__ import annotations

import os

from nexus_cli.errors import NexusError, UsageError

# The largest process id there can be (pid_t is a signed 32-bit integer): the CLI and the MCP tool
# refuse a bigger one with one line.
PID_MAX = 2**31 - 1

_PF_KTHREAD = 0x00200000  # the `flags` field of /proc/PID/stat (include/linux/sched.h)


class RefusedError(NexusError):
    """nexus will not signal this process; nothing was sent."""

    category = "refused"


def is_kernel_thread(pid: int) -> bool:
    """True for kernel threads (PF_KTHREAD in /proc/PID/stat); False when unreadable."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
    except OSError:
        return False
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    try:
        return int(fields[6]) & _PF_KTHREAD != 0  # field 9 overall
    except (IndexError, ValueError):
        return False


def own_lineage() -> set[int]:
    """nexus's own PID and every ancestor's (up to, and including, PID 1)."""
    lineage = {os.getpid()}
    pid = os.getpid()
    while pid > 1:
        pid = _parent(pid)
        if pid <= 0 or pid in lineage:
            break
        lineage.add(pid)
    return lineage


def _parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
        return int(stat[stat.rfind(")") + 2 :].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def owner_uid(pid: int) -> int | None:
    """The real uid of ``pid`` (``Uid:`` in /proc/PID/status), None when unreadable."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Uid:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def refusal(pid: int, acting_uid: int, *, force_other_user: bool = False) -> str | None:
    """Why ``pid`` must not be signalled by ``acting_uid``, or None when it may be."""
    if pid == 1:
        return f"refused to signal PID {pid}: it is init (its tree is every process on the system)"
    if is_kernel_thread(pid):
        return f"refused to signal PID {pid}: it is a kernel thread"
    if pid == os.getpid():
        return f"refused to signal PID {pid}: it is this nexus process"
    if pid in own_lineage():
        return f"refused to signal PID {pid}: it is an ancestor of this nexus process"
    uid = owner_uid(pid)
    if uid is not None and uid != acting_uid:
        if acting_uid != 0:
            return (
                f"refused to signal PID {pid}: it belongs to another user (uid {uid});"
                " nexus only signals your own processes"
            )
        if not force_other_user:
            return (
                f"refused to signal PID {pid}: it belongs to another user (uid {uid});"
                " as root, pass --force-other-user to act on it"
            )
    return None


def check(pid: int, acting_uid: int, *, force_other_user: bool = False) -> None:
    """Raise :class:`RefusedError` (or a usage error) unless ``pid`` may be signalled."""
    if force_other_user and acting_uid != 0:
        raise UsageError("--force-other-user is only for root; nothing was sent")
    reason = refusal(pid, acting_uid, force_other_user=force_other_user)
    if reason is not None:
        raise RefusedError(f"{reason}; nothing was sent")
