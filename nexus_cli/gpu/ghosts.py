"""Ghosts and idlers: GPU memory held by processes that are gone, zombie, stopped, frozen in a
paused container, or idle (0% SM) for longer than a threshold.

Nothing here signals anything: each finding says what a person can do (which parent, container
or process to stop). Idleness cannot be read from one NVML sample, so it is learnt from the
readings nexus takes: each `gpu status`, `gpu ghosts` (and the monitor, in memory) notes when it
saw a process at 0% SM; the first such reading starts the idle time, a reading above 0% ends it,
and a gap longer than the threshold between two readings starts it over (nothing is known about
the time between). The notes live in ``$NEXUS_HOME/gpu/idle.json``, keyed by PID and start time.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nexus_cli import fs, jsonio, paths
from nexus_cli.gpu import containers, procinfo
from nexus_cli.gpu.model import GpuProcessReading, GpuReading, NvmlSession, attribution_devices
from nexus_cli.gpu.units import duration

IDLE_AFTER_S = 30 * 60.0
KINDS = ("gone", "zombie", "stopped", "paused-container", "idle")


@dataclass
class Ghost:
    kind: str  # one of KINDS
    pid: int
    gpu_index: str
    gpu_uuid: str | None
    used_memory: int | None
    command: str | None = None  # raw, from /proc: escape before printing
    user: str | None = None
    parent_pid: int | None = None
    parent_command: str | None = None
    container_id: str | None = None
    idle_s: float | None = None
    action: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class IdleTracker:
    """When each process (PID and start time) was first seen idle, in memory; :class:`IdleFile`
    keeps the same between commands."""

    def __init__(self, idle_after_s: float, seen: dict[str, list[float]] | None = None) -> None:
        self.idle_after_s = idle_after_s
        self.seen: dict[str, list[float]] = seen or {}  # key -> [first idle, last seen idle]

    def observe(self, key: str, idle: bool, now: float) -> float | None:
        """Record one reading; how long the process has been idle (None when not idle)."""
        if not idle:
            self.seen.pop(key, None)
            return None
        first, last = self.seen.get(key, [now, now])
        if now - last > self.idle_after_s:  # too long unobserved: start over
            first = now
        self.seen[key] = [first, now]
        return now - first

    def forget_except(self, keys: set[str]) -> None:
        for key in set(self.seen) - keys:
            del self.seen[key]


class IdleFile:
    """The tracker's notes in ``$NEXUS_HOME/gpu/idle.json``, read and written under a lock."""

    def __init__(self) -> None:
        folder = paths.nexus_home() / "gpu"
        paths.ensure_private_dir(folder)
        self.path = folder / "idle.json"

    def load(self) -> dict[str, list[float]]:
        try:
            data = jsonio.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {
            str(k): [float(v[0]), float(v[1])]
            for k, v in data.items()
            if isinstance(v, list)
            and len(v) == 2
            and all(isinstance(x, int | float) and not isinstance(x, bool) for x in v)
        }

    def save(self, seen: dict[str, list[float]]) -> None:
        fs.atomic_write(self.path, jsonio.dumps(seen), mode=0o600, fsync=False)


def _frozen(pid: int) -> bool:
    """Whether ``pid``'s cgroup is frozen (``docker pause``): cgroup v2 ``cgroup.freeze`` or the
    v1 freezer's ``freezer.state``."""
    try:
        with open(f"/proc/{pid}/cgroup", encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return False
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3 or ".." in parts[2]:
            continue
        if parts[0] == "0" and parts[1] == "":
            check = Path("/sys/fs/cgroup") / parts[2].lstrip("/") / "cgroup.freeze"
            expected = "1"
        elif "freezer" in parts[1].split(","):
            check = Path("/sys/fs/cgroup/freezer") / parts[2].lstrip("/") / "freezer.state"
            expected = "FROZEN"
        else:
            continue
        try:
            if check.read_text().strip() == expected:
                return True
        except OSError:
            continue
    return False


def _idle_reading(p: GpuProcessReading, dev: GpuReading, sm: dict[int, int]) -> bool:
    """0% SM in the last second; without a sample for it, the device itself at 0%."""
    value = sm.get(p.pid)
    if value is not None:
        return value == 0
    return dev.utilization_pct == 0


@dataclass
class _Facts:
    state: str  # "gone", "zombie", "stopped", "paused-container", "running"
    create_time: float | None = None
    command: str | None = None
    user: str | None = None
    parent_pid: int | None = None
    parent_command: str | None = None
    container_id: str | None = None


def _host_facts(pid: int) -> _Facts | None:
    """What the host says about ``pid``; None when it cannot be seen from here."""
    import psutil

    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            status = proc.status()
            facts = _Facts(
                "running",
                proc.create_time(),
                _try(lambda: " ".join(proc.cmdline())) or _try(proc.name),
                _try(proc.username),
                proc.ppid(),
            )
    except psutil.NoSuchProcess:
        return None if containers.nexus_in_container() else _Facts("gone")
    except psutil.AccessDenied:
        return _Facts("running")
    if procinfo.pid_namespace(pid) == "other":
        facts.container_id = containers.container_id(pid)
    if status == psutil.STATUS_ZOMBIE:
        facts.state = "zombie"
        if facts.parent_pid:
            with contextlib.suppress(psutil.Error):
                parent = psutil.Process(facts.parent_pid)
                facts.parent_command = _try(lambda: " ".join(parent.cmdline())) or _try(parent.name)
    elif status in (psutil.STATUS_STOPPED, psutil.STATUS_TRACING_STOP):
        facts.state = "stopped"
    elif facts.container_id is not None and _frozen(pid):
        facts.state = "paused-container"
    return facts


def _try(read: Any) -> Any:
    import psutil

    try:
        return read()
    except (psutil.Error, OSError):
        return None


def _action(g: Ghost) -> str:
    if g.kind == "gone":
        return (
            "the PID no longer exists but the driver still counts its memory: a child or another"
            " process may hold the device (`fuser -v /dev/nvidia*`); it is freed when the last"
            " holder exits"
        )
    if g.kind == "zombie":
        if g.parent_pid and g.parent_pid > 1:
            return (
                f"it has exited; its parent, PID {g.parent_pid}, has not reaped it: stop the"
                f" parent (`nexus gpu stop {g.parent_pid}`) or have it wait() for its child"
            )
        return "it has exited and waits for init to reap it; the driver frees its memory then"
    if g.kind == "paused-container":
        return (
            f"its container {g.container_id} is paused: `docker unpause {g.container_id}`"
            f" to resume, or `docker stop {g.container_id}` to free the memory"
        )
    where = (
        f" (container {g.container_id}: `docker stop {g.container_id}`)" if g.container_id else ""
    )
    if g.kind == "stopped":
        return (
            f"it is suspended (SIGSTOP): resume it with `nexus gpu impact {g.pid} --action"
            f" resume`, or stop it with `nexus gpu stop {g.pid}`{where}"
        )
    return (
        f"check it with `nexus gpu impact {g.pid}`; stop it with `nexus gpu stop {g.pid}`"
        f" (or at its next checkpoint: --at-checkpoint){where}"
    )


def find(session: NvmlSession, tracker: IdleTracker, now: float | None = None) -> list[Ghost]:
    """Every GPU process that is gone, zombie, stopped, in a paused container, or idle for at
    least the tracker's threshold. Reads only; signals nothing."""
    devices = attribution_devices(session.read_devices())
    procs = {d.index: session.read_processes(d.index) for d in devices}
    sm = {i: session.read_process_utilization(i) if p else {} for i, p in procs.items()}
    return find_in(devices, procs, sm, tracker, now)


def find_in(
    devices: list[GpuReading],
    procs: dict[str, list[GpuProcessReading]],
    sm: dict[str, dict[int, int]],
    tracker: IdleTracker,
    now: float | None = None,
) -> list[Ghost]:
    """:func:`find` on readings already taken (the monitor's snapshot)."""
    stamp = time.time() if now is None else now
    found: list[Ghost] = []
    keys: set[str] = set()
    seen: dict[int, _Facts | None] = {}  # one look per PID, however many devices it uses
    for dev in attribution_devices(devices):
        for p in procs.get(dev.index, []):
            if p.pid not in seen:
                seen[p.pid] = _host_facts(p.pid)
            facts = seen[p.pid]
            if facts is None:
                continue  # not visible from here: nothing can be said
            ghost = Ghost(
                facts.state,
                p.pid,
                dev.index,
                dev.uuid,
                p.used_memory,
                facts.command,
                facts.user,
                facts.parent_pid,
                facts.parent_command,
                facts.container_id,
            )
            if facts.state == "running":
                if facts.create_time is None:
                    continue
                key = f"{p.pid}:{facts.create_time:.2f}:{dev.index}"
                keys.add(key)
                idle = tracker.observe(key, _idle_reading(p, dev, sm.get(dev.index, {})), stamp)
                if idle is None or idle < tracker.idle_after_s:
                    continue
                ghost.kind, ghost.idle_s = "idle", round(idle, 1)
            ghost.action = _action(ghost)
            found.append(ghost)
    tracker.forget_except(keys)
    return found


def find_and_remember(session: NvmlSession, idle_after_s: float = IDLE_AFTER_S) -> list[Ghost]:
    """:func:`find` with the idle notes kept in ``$NEXUS_HOME`` between commands."""
    store = IdleFile()
    with fs.locked(store.path.with_suffix(".lock")):
        tracker = IdleTracker(idle_after_s, store.load())
        found = find(session, tracker)
        store.save(tracker.seen)
    return found


def flags(ghosts: list[Ghost]) -> dict[int, str]:
    """A short flag per PID for tables: ``zombie``, ``gone``, ``idle 2h 5m``..."""
    return {g.pid: f"idle {duration(g.idle_s)}" if g.kind == "idle" else g.kind for g in ghosts}
