"""One frame of ``nexus gpu monitor``: an NVML snapshot and its Rich or plain rendering.

The monitor polls NVML in-process (no subprocess per refresh); process names are cached by PID.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from nexus_cli.gpu import accounting, ghosts
from nexus_cli.gpu.model import GpuProcessReading, GpuReading, NvmlSession
from nexus_cli.gpu.units import NA, number, size
from nexus_cli.terminal import escape

if TYPE_CHECKING:
    from rich.console import RenderableType

DEVICE_COLUMNS = ("gpu", "name", "util", "memory", "temp", "power", "procs")
PROCESS_COLUMNS = ("gpu", "pid", "name", "gpu memory", "sm")


@dataclass
class Snapshot:
    devices: list[GpuReading]
    processes: dict[str, list[GpuProcessReading]]
    sm_util: dict[str, dict[int, int]]
    names: dict[int, str] = field(default_factory=dict)
    users: dict[int, str] = field(default_factory=dict)
    started: dict[int, float] = field(default_factory=dict)  # create times
    flags: dict[int, str] = field(default_factory=dict)  # ghosts and idlers: "zombie", "idle 2h"


class Poller:
    """Takes snapshots from one open session, remembering each PID's name, user and create
    time between frames (raw strings: the views escape them)."""

    def __init__(self, session: NvmlSession, idle_after_s: float = ghosts.IDLE_AFTER_S) -> None:
        self.session = session
        self._known: dict[int, tuple[str, str, float | None]] = {}
        self._idle = ghosts.IdleTracker(idle_after_s)  # in memory: one per monitor
        self._sampled = 0.0  # when GPU time per task was last recorded (monotonic)

    def _about(self, pid: int) -> tuple[str, str, float | None]:
        if pid not in self._known:
            import psutil

            try:
                proc = psutil.Process(pid)
                with proc.oneshot():
                    name, started = proc.name(), proc.create_time()
                    try:
                        user = proc.username()
                    except (psutil.AccessDenied, KeyError):
                        user = str(proc.uids().real)
                self._known[pid] = (name, user, started)
            except psutil.Error:
                self._known[pid] = ("?", "?", None)
        return self._known[pid]

    def snapshot(self) -> Snapshot:
        devices = self.session.read_devices()
        procs = {d.index: self.session.read_processes(d.index) for d in devices}
        sm = {i: self.session.read_process_utilization(i) if p else {} for i, p in procs.items()}
        about = {p.pid: self._about(p.pid) for plist in procs.values() for p in plist}
        found = ghosts.find_in(devices, procs, sm, self._idle) if about else []
        if about and time.monotonic() - self._sampled >= accounting.MONITOR_SAMPLE_S:
            self._sampled = time.monotonic()
            accounting.record(devices, procs)
        return Snapshot(
            devices,
            procs,
            sm,
            {pid: a[0] for pid, a in about.items()},
            {pid: a[1] for pid, a in about.items()},
            {pid: a[2] for pid, a in about.items() if a[2] is not None},
            ghosts.flags(found),
        )


def _memory(d: GpuReading) -> str:
    if d.memory_used is None or d.memory_total is None:
        return NA
    return f"{size(d.memory_used)} / {size(d.memory_total)}"


def _power(d: GpuReading) -> str:
    if d.power_draw_w is None:
        return NA
    limit = f" / {d.power_limit_w:.0f} W" if d.power_limit_w is not None else ""
    return f"{d.power_draw_w:.0f} W{limit}"


def device_rows(snap: Snapshot) -> list[tuple[str, ...]]:
    return [
        (
            d.index + (" (MIG)" if d.is_mig else ""),
            d.name or NA,
            number(d.utilization_pct, "%"),
            _memory(d),
            number(d.temperature_c, "°C"),
            _power(d),
            str(len(snap.processes.get(d.index, []))),
        )
        for d in snap.devices
    ]


def flagged(name: str, flag: str | None) -> str:
    """A process name with its ghost/idle flag, if any: ``python [zombie]``."""
    return name if flag is None else f"{name} [{flag}]"


def process_rows(snap: Snapshot) -> list[tuple[str, ...]]:
    return [
        (
            gpu,
            str(p.pid),
            flagged(escape(snap.names.get(p.pid, "?"), newlines=False), snap.flags.get(p.pid)),
            size(p.used_memory),
            number(snap.sm_util.get(gpu, {}).get(p.pid), "%"),
        )
        for gpu, plist in snap.processes.items()
        for p in plist
    ]


def render(snap: Snapshot) -> RenderableType:
    """The Rich view of a snapshot: a device table and a process table."""
    from rich import box
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    devices = Table(*DEVICE_COLUMNS, title="GPUs", box=box.SIMPLE_HEAD, header_style="bold")
    for row in device_rows(snap):
        devices.add_row(*row)
    procs = Table(*PROCESS_COLUMNS, title="Processes", box=box.SIMPLE_HEAD, header_style="bold")
    for row in process_rows(snap):
        procs.add_row(*(Text(cell) for cell in row))  # names from /proc: never Rich markup
    return Group(devices, procs)
