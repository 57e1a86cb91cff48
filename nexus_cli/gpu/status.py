"""GPU status and the GPU process list, from one NVML session plus psutil for the host side."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from nexus_cli.gpu import containers, procinfo
from nexus_cli.gpu.model import GpuProcessReading, GpuReading, NvmlSession, attribution_devices


@dataclass
class GpuStatus:
    gpu: GpuReading
    processes: list[GpuProcessReading] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self.gpu), "processes": [asdict(p) for p in self.processes]}


@dataclass
class ProcessRow:
    pid: int
    gpu_index: str
    used_memory: int | None
    sm_util_pct: int | None
    kinds: list[str]
    namespace: str  # "same", "other" (container) or "not visible" (another PID namespace)
    container_id: str | None = None
    inner_pid: int | None = None  # the PID inside its container (NSpid)
    note: str | None = None  # why a "not visible" PID cannot be seen
    user: str | None = None
    cpu_percent: float | None = None
    rss_bytes: int | None = None
    runtime_s: float | None = None
    command: str | None = None


def read_status(session: NvmlSession) -> list[GpuStatus]:
    return [GpuStatus(dev, session.read_processes(dev.index)) for dev in session.read_devices()]


def _host_side(row: ProcessRow) -> None:
    import psutil

    try:
        proc = psutil.Process(row.pid)
        with proc.oneshot():
            row.user = proc.username()
            row.rss_bytes = proc.memory_info().rss
            row.runtime_s = round(time.time() - proc.create_time(), 1)
            row.command = " ".join(proc.cmdline()) or f"[{proc.name()}]"
    except psutil.NoSuchProcess:
        row.namespace = "not visible"  # NVML's host PID is not in our PID namespace
    except psutil.AccessDenied:
        pass
    if row.namespace == "not visible":
        row.note = containers.invisible_reason()
        return
    row.namespace = procinfo.pid_namespace(row.pid)
    if row.namespace == "other":
        where = containers.describe(row.pid)
        row.container_id, row.inner_pid = where.container_id, where.inner_pid


def read_processes(session: NvmlSession, cpu_window_s: float = 0.1) -> list[ProcessRow]:
    """Every GPU process with its GPU memory, SM utilization (last second) and host details."""
    rows: list[ProcessRow] = []
    for dev in attribution_devices(session.read_devices()):
        procs = session.read_processes(dev.index)
        sm = session.read_process_utilization(dev.index) if procs else {}
        for p in procs:
            rows.append(ProcessRow(p.pid, dev.index, p.used_memory, sm.get(p.pid), p.kinds, "same"))
    for row in rows:
        _host_side(row)
    cpu = procinfo.sample_cpu_percent(sorted({r.pid for r in rows}), cpu_window_s)
    for row in rows:
        row.cpu_percent = cpu.get(row.pid)
    return rows
