"""GPU-hours and peak GPU memory per task, from samples of the GPU process list.

A GPU process belongs to a task when its environment holds ``NEXUS_TASK_ID`` (``nexus loop``
sets it for the agent, and everything the agent starts inherits it); else to a workspace when it
holds ``NEXUS_WORKSPACE`` (every workspace service container has it, so whatever
``nexus workspace exec`` starts there carries it). Only your own processes' environments are read
(``/proc/PID/environ``), and the value must be a valid task id or workspace name.

**Sampling.** Every time nexus reads the GPU process list for `gpu status`, and every
:data:`MONITOR_SAMPLE_S` seconds while `gpu monitor` runs, it records, per task,
the samples it saw. The time between two samples of the same process on the same device counts
as GPU time when the gap is at most :data:`MAX_GAP_S`; a longer gap counts nothing (nothing is
known about it). GPU-hours are therefore a lower bound: exact to the sampling interval while a
monitor runs, missing whatever ran unobserved. The totals live in ``$NEXUS_HOME/gpu/usage.json``
(task ids, seconds, bytes, times: no command lines, no paths).
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nexus_cli import fs, jsonio, paths, validate
from nexus_cli.gpu import guards, procinfo
from nexus_cli.gpu.model import GpuProcessReading, GpuReading, attribution_devices
from nexus_cli.timefmt import rfc3339

ENV = "NEXUS_TASK_ID"
WORKSPACE_ENV = "NEXUS_WORKSPACE"
WORKSPACE = "workspace:"  # the key prefix of a workspace's totals
MAX_GAP_S = 60.0
MONITOR_SAMPLE_S = 10.0


@dataclass
class TaskUsage:
    key: str  # a task id, or "workspace:NAME"
    gpu_seconds: float
    peak_memory: int | None
    samples: int
    first_seen: float
    last_seen: float

    @property
    def task_id(self) -> str | None:
        return None if self.key.startswith(WORKSPACE) else self.key

    @property
    def workspace(self) -> str | None:
        return self.key[len(WORKSPACE) :] if self.key.startswith(WORKSPACE) else None

    @property
    def gpu_hours(self) -> float:
        return self.gpu_seconds / 3600

    def to_dict(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "workspace": self.workspace,
            "gpu_hours": round(self.gpu_hours, 4),
            "gpu_seconds": round(self.gpu_seconds, 3),
            "peak_memory": self.peak_memory,
            "samples": self.samples,
            "first_seen": rfc3339(self.first_seen),
            "last_seen": rfc3339(self.last_seen),
        }


def _valid_key(key: str) -> bool:
    if key.startswith(WORKSPACE):
        return validate.is_valid(validate.workspace_name, key[len(WORKSPACE) :])
    return validate.is_valid(validate.task_id, key)


def owner_of(pid: int) -> str | None:
    """Whose GPU time a process is: its task id (``NEXUS_TASK_ID``), else ``workspace:NAME``
    (``NEXUS_WORKSPACE``); None for other users' processes and anything else."""
    if guards.owner_uid(pid) != os.getuid():
        return None
    env = procinfo.environment(pid) or {}
    task = env.get(ENV)
    if task is not None and _valid_key(task) and not task.startswith(WORKSPACE):
        return task
    name = env.get(WORKSPACE_ENV)
    if name is not None and _valid_key(WORKSPACE + name):
        return WORKSPACE + name
    return None


def _path() -> Path:
    folder = paths.nexus_home() / "gpu"
    paths.ensure_private_dir(folder)
    return folder / "usage.json"


def _load(path: Path) -> dict[str, Any]:
    try:
        data = jsonio.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"tasks": {}, "open": {}}
    if not isinstance(data, dict):
        return {"tasks": {}, "open": {}}
    tasks = data.get("tasks") if isinstance(data.get("tasks"), dict) else {}
    opened = data.get("open") if isinstance(data.get("open"), dict) else {}
    return {"tasks": tasks, "open": opened}


def _usage(key: str, raw: object) -> TaskUsage | None:
    if not isinstance(raw, dict) or not _valid_key(key):
        return None
    try:
        peak = raw.get("peak_memory")
        return TaskUsage(
            key,
            float(raw["gpu_seconds"]),
            None if peak is None else int(peak),
            int(raw["samples"]),
            float(raw["first_seen"]),
            float(raw["last_seen"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def record(
    devices: list[GpuReading],
    processes: dict[str, list[GpuProcessReading]],
    now: float | None = None,
) -> int:
    """Record one sample of the GPU process list; how many task processes it held."""
    import psutil

    stamp = time.time() if now is None else now
    seen: list[tuple[str, str, int | None]] = []  # (open key, task, memory)
    owners: dict[int, tuple[str, float] | None] = {}  # one look per PID
    for dev in attribution_devices(devices):
        for p in processes.get(dev.index, []):
            if p.pid not in owners:
                owners[p.pid] = None
                task = owner_of(p.pid)
                if task is not None:
                    with contextlib.suppress(psutil.Error):
                        owners[p.pid] = (task, psutil.Process(p.pid).create_time())
            found = owners[p.pid]
            if found is None:
                continue
            task, created = found
            seen.append((f"{p.pid}:{created:.2f}:{dev.uuid or dev.index}", task, p.used_memory))
    if not seen:
        return 0
    path = _path()
    with fs.locked(path.with_suffix(".lock")):
        data = _load(path)
        tasks: dict[str, Any] = data["tasks"]
        opened: dict[str, Any] = data["open"]
        for key, task, memory in seen:
            usage = _usage(task, tasks.get(task)) or TaskUsage(task, 0.0, None, 0, stamp, stamp)
            last = opened.get(key)
            if isinstance(last, int | float) and 0 < stamp - last <= MAX_GAP_S:
                usage.gpu_seconds += stamp - last
            opened[key] = stamp
            if memory is not None:
                usage.peak_memory = max(usage.peak_memory or 0, memory)
            usage.samples += 1
            usage.first_seen = min(usage.first_seen, stamp)
            usage.last_seen = max(usage.last_seen, stamp)
            tasks[task] = {k: v for k, v in asdict(usage).items() if k != "key"}
        data["open"] = {
            k: v for k, v in opened.items() if isinstance(v, int | float) and stamp - v <= MAX_GAP_S
        }
        fs.atomic_write(path, jsonio.dumps(data), mode=0o600, fsync=False)
    return len(seen)


def usage_by_task(since: float | None = None, until: float | None = None) -> list[TaskUsage]:
    """Each task's (and workspace's) totals, most GPU time first; with a window, those seen in
    it."""
    data = _load(_path())
    found = [u for k, v in data["tasks"].items() if (u := _usage(k, v)) is not None]
    if since is not None:
        found = [u for u in found if u.last_seen >= since]
    if until is not None:
        found = [u for u in found if u.first_seen < until]
    return sorted(found, key=lambda u: (-u.gpu_seconds, u.key))


def usage_of(task_id: str, workspace: str | None = None) -> list[TaskUsage]:
    """The totals of a task, and of its workspace when it has one."""
    keys = {task_id} | ({WORKSPACE + workspace} if workspace else set())
    return [u for u in usage_by_task() if u.key in keys]
