"""What the operating system says about a process: owner, command, runtime, children, signals.

psutil is imported inside the functions that need it. Linux-only details (``SigCgt``, PID
namespaces) come from ``/proc`` and degrade to "unknown" elsewhere.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from nexus_cli.errors import NotFoundError
from nexus_cli.gpu import containers

if TYPE_CHECKING:
    import psutil

T = TypeVar("T")


@dataclass
class ProcessFacts:
    pid: int
    create_time: float
    user: str | None
    uid: int | None
    command: str
    cmdline: list[str]
    name: str
    runtime_s: float
    rss_bytes: int | None
    status: str
    namespace: str  # "same", "other" (another PID namespace: a container) or "unknown"
    container_id: str | None = None  # from the cgroup, when in another PID namespace
    inner_pid: int | None = None  # its PID inside that namespace (NSpid)
    cpu_percent: float | None = None
    cwd: str | None = None
    role: str | None = None
    children: list[ProcessFacts] = field(default_factory=list)


def pid_namespace(pid: int) -> str:
    """ "same" when ``pid`` lives in our PID namespace, "other" when not, "unknown" if unreadable."""
    try:
        theirs = os.readlink(f"/proc/{pid}/ns/pid")
        ours = os.readlink("/proc/self/ns/pid")
    except OSError:
        return "unknown"
    return "same" if theirs == ours else "other"


def caught_signals(pid: int) -> set[int]:
    """Signals ``pid`` has a handler for (the ``SigCgt`` mask of /proc/PID/status)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("SigCgt:"):
                    mask = int(line.split()[1], 16)
                    return {n + 1 for n in range(64) if mask >> n & 1}
    except (OSError, ValueError, IndexError):
        pass
    return set()


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def get_process(pid: int) -> psutil.Process:
    import psutil

    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        if containers.nexus_in_container():
            raise NotFoundError(
                f"no process with PID {pid} is visible here:"
                " nexus runs in a container without the host PID namespace",
                hint="run nexus on the host (NVML reports host PIDs), or the container with"
                " --pid=host",
            ) from None
        raise NotFoundError(
            f"no process with PID {pid}", hint="list GPU processes with `nexus gpu processes`"
        ) from None
    except psutil.AccessDenied:
        raise NotFoundError(f"process {pid} cannot be inspected (access denied)") from None


def describe_tree(pid: int) -> ProcessFacts:
    """:func:`facts` of ``pid`` and its descendants, as domain errors when it cannot be read."""
    import psutil

    proc = get_process(pid)
    try:
        if proc.status() == psutil.STATUS_ZOMBIE:
            raise psutil.ZombieProcess(pid)
        return facts(proc, with_children=True)
    except psutil.ZombieProcess:
        raise NotFoundError(
            f"process {pid} has already exited (a zombie its parent has not reaped)",
            hint="killing it changes nothing; its parent must wait() for it",
        ) from None
    except psutil.NoSuchProcess:
        raise NotFoundError(f"process {pid} exited during the analysis") from None
    except psutil.AccessDenied:
        raise NotFoundError(f"process {pid} cannot be inspected (access denied)") from None


def child_role(child: psutil.Process, parent_cmdline: list[str]) -> str:
    """A short guess at what a child process is (DataLoader worker, logger...)."""
    import psutil

    try:
        cmd = child.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return "process"
    text = " ".join(cmd).lower()
    if "tensorboard" in text:
        return "TensorBoard logger"
    if "wandb" in text:
        return "W&B logger"
    if "multiprocessing" in text or (cmd and cmd == parent_cmdline):
        return "worker (DataLoader/multiprocessing)"
    return "process"


def facts(proc: psutil.Process, *, with_children: bool = False) -> ProcessFacts:
    """The facts about one process, and optionally its descendants."""
    import psutil

    with proc.oneshot():
        try:
            cmdline = proc.cmdline()
        except (psutil.AccessDenied, psutil.ZombieProcess):
            cmdline = []
        name = proc.name()
        info = ProcessFacts(
            pid=proc.pid,
            create_time=proc.create_time(),
            user=_safe(proc.username),
            uid=_safe(lambda: proc.uids().real),
            command=" ".join(cmdline) or f"[{name}]",
            cmdline=cmdline,
            name=name,
            runtime_s=max(0.0, time.time() - proc.create_time()),
            rss_bytes=_safe(lambda: proc.memory_info().rss),
            status=proc.status(),
            namespace=pid_namespace(proc.pid),
            cwd=_safe(proc.cwd),
        )
    if info.namespace == "other":
        where = containers.describe(proc.pid)
        info.container_id, info.inner_pid = where.container_id, where.inner_pid
    if with_children:
        for child in _safe(lambda: proc.children(recursive=True)) or []:
            if child.pid == os.getpid():
                continue  # nexus itself, when it analyses one of its ancestors
            try:
                kid = facts(child)
            except psutil.Error:
                continue  # it exited while we looked
            kid.role = child_role(child, cmdline)
            info.children.append(kid)
    return info


def _safe(read: Callable[[], T]) -> T | None:
    import psutil

    try:
        return read()
    except (psutil.Error, OSError):
        return None


def sample_cpu_percent(pids: list[int], window_s: float = 0.1) -> dict[int, float]:
    """CPU percent of each PID over a short window (100% = one full core)."""
    import psutil

    procs: list[psutil.Process] = []
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            proc.cpu_percent(None)
            procs.append(proc)
        except psutil.Error:
            continue
    if not procs:
        return {}
    time.sleep(window_s)
    result: dict[int, float] = {}
    for proc in procs:
        try:
            result[proc.pid] = round(proc.cpu_percent(None), 1)
        except psutil.Error:
            continue
    return result


def environment(pid: int) -> dict[str, str] | None:
    """The process's environment, or None when it cannot be read (another user, a container)."""
    import psutil

    try:
        return dict(psutil.Process(pid).environ())
    except (psutil.Error, OSError):
        return None


def open_paths(pid: int) -> list[str]:
    import psutil

    try:
        return [f.path for f in psutil.Process(pid).open_files()]
    except (psutil.Error, OSError):
        return []


def ancestors_cmdlines(pid: int, depth: int = 4) -> list[str]:
    import psutil

    found: list[str] = []
    try:
        parent = psutil.Process(pid).parent()
        while parent is not None and len(found) < depth and parent.pid > 1:
            found.append(" ".join(parent.cmdline()))
            parent = parent.parent()
    except (psutil.Error, OSError):
        pass
    return found


def paths_open_for_writing(pids: list[int]) -> set[str]:
    """Files any of ``pids`` has open for writing (psutil's mode: "w", "a", "r+"...)."""
    import psutil

    found: set[str] = set()
    for pid in pids:
        try:
            files = psutil.Process(pid).open_files()
        except (psutil.Error, OSError):
            continue
        found.update(f.path for f in files if getattr(f, "mode", "r") != "r")
    return found


def process_group(pid: int) -> int | None:
    """``pid``'s process group id, None when it is gone."""
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def group_members(pgid: int) -> list[int]:
    """The PIDs of process group ``pgid`` (the ``pgrp`` field of /proc/PID/stat), zombies left
    out."""
    members: list[int] = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return members
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                stat = fh.read()
            fields = stat[stat.rfind(")") + 2 :].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    return sorted(members)


def is_running(pid: int, create_time: float) -> bool:
    """Whether the process ``pid`` started at ``create_time`` still runs (a zombie has ended)."""
    import psutil

    try:
        proc = psutil.Process(pid)
        if abs(proc.create_time() - create_time) > 0.05:
            return False
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
