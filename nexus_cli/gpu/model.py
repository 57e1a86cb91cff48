"""Plain readings exchanged between the NVML adapter and the rest of the GPU code."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from nexus_cli.errors import NexusError


class GpuUnavailableError(NexusError):
    """No NVIDIA library or driver: GPU readings cannot be taken on this machine."""

    category = "gpu_unavailable"


@dataclass
class GpuReading:
    """One GPU (or MIG device); every measured field is None when NVML cannot give it."""

    index: str
    name: str | None
    uuid: str | None
    is_mig: bool = False
    parent_index: str | None = None
    utilization_pct: int | None = None
    memory_used: int | None = None
    memory_total: int | None = None
    temperature_c: int | None = None
    power_draw_w: float | None = None
    power_limit_w: float | None = None


@dataclass
class GpuProcessReading:
    """A process NVML reports on one GPU: host PID, its memory there, compute and/or graphics."""

    pid: int
    gpu_index: str
    used_memory: int | None
    kinds: list[str] = field(default_factory=list)


class NvmlSession(Protocol):
    """What the GPU code needs from NVML. The real one lives in :mod:`nexus_cli.gpu.nvml`."""

    driver_version: str | None

    def read_devices(self) -> list[GpuReading]: ...

    def read_processes(self, gpu_index: str) -> list[GpuProcessReading]: ...

    def read_process_utilization(self, gpu_index: str) -> dict[int, int]:
        """SM utilization (percent) per PID over the last second."""
        ...

    def close(self) -> None: ...


def attribution_devices(devices: list[GpuReading]) -> list[GpuReading]:
    """The devices to attribute processes to: a MIG-enabled GPU's processes are also listed on its
    MIG devices, so the parent is left out there (its memory would otherwise count twice)."""
    parents = {d.parent_index for d in devices if d.is_mig}
    return [d for d in devices if d.index not in parents]
