"""The one adapter between Nexus and NVML (the only module that imports ``pynvml``).

:func:`connect` initialises NVML and returns a session; a missing library or driver becomes a
:class:`GpuUnavailableError` with a hint. Each field is read on its own: an ``NVMLError``
(NotSupported, NoPermission, a driver/library mismatch...) turns that field into ``None`` (shown
as n/a), never into a crash. Tests replace this module's :func:`connect` with an in-memory fake,
or, for a `nexus` subprocess, point ``NEXUS_NVML_FAKE`` at a JSON file (:mod:`.nvml_json`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from nexus_cli.gpu.model import GpuProcessReading, GpuReading, GpuUnavailableError, NvmlSession
from nexus_cli.gpu.nvml_json import JsonSession

T = TypeVar("T")

# Newest process-struct version first; older drivers lack the newer symbols.
_PROCESS_CALLS = {
    "compute": (
        "nvmlDeviceGetComputeRunningProcesses_v3",
        "nvmlDeviceGetComputeRunningProcesses_v2",
    ),
    "graphics": (
        "nvmlDeviceGetGraphicsRunningProcesses_v3",
        "nvmlDeviceGetGraphicsRunningProcesses_v2",
    ),
}
_RACE_RETRIES = 3
_HINT = "install the NVIDIA driver (nvidia-smi must work); `nexus gpu impact PID` still works"


def _field(read: Callable[..., T], *args: Any) -> T | None:
    """``read(*args)``, or None when NVML cannot give this field on this device."""
    import pynvml

    try:
        return read(*args)
    except pynvml.NVMLError:
        return None


def _text(value: object) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


class PynvmlSession:
    """A live NVML session. Device handles are looked up once, when the session opens."""

    def __init__(self) -> None:
        import pynvml

        self._nvml = pynvml
        self.driver_version = _text(_field(pynvml.nvmlSystemGetDriverVersion))
        self._handles: dict[str, tuple[Any, str | None]] = {}
        for i in range(_field(pynvml.nvmlDeviceGetCount) or 0):
            handle = _field(pynvml.nvmlDeviceGetHandleByIndex, i)
            if handle is None:
                continue
            self._handles[str(i)] = (handle, None)
            for j, mig in enumerate(self._mig_handles(handle)):
                self._handles[f"{i}:{j}"] = (mig, str(i))

    def _mig_handles(self, handle: Any) -> list[Any]:
        nv = self._nvml
        mode = _field(nv.nvmlDeviceGetMigMode, handle)
        if not mode or mode[0] != nv.NVML_DEVICE_MIG_ENABLE:
            return []
        found = []
        for k in range(_field(nv.nvmlDeviceGetMaxMigDeviceCount, handle) or 0):
            mig = _field(nv.nvmlDeviceGetMigDeviceHandleByIndex, handle, k)
            if mig is not None:  # empty slots answer NotFound
                found.append(mig)
        return found

    def read_devices(self) -> list[GpuReading]:
        return [self._read_device(index, h, parent) for index, (h, parent) in self._handles.items()]

    def _read_device(self, index: str, handle: Any, parent: str | None) -> GpuReading:
        nv = self._nvml
        memory = _field(nv.nvmlDeviceGetMemoryInfo, handle, nv.nvmlMemory_v2)
        if memory is None:  # drivers before the _v2 call
            memory = _field(nv.nvmlDeviceGetMemoryInfo, handle)
        util = _field(nv.nvmlDeviceGetUtilizationRates, handle)
        draw = _field(nv.nvmlDeviceGetPowerUsage, handle)
        limit = _field(nv.nvmlDeviceGetEnforcedPowerLimit, handle)
        return GpuReading(
            index=index,
            name=_text(_field(nv.nvmlDeviceGetName, handle)),
            uuid=_text(_field(nv.nvmlDeviceGetUUID, handle)),
            is_mig=parent is not None,
            parent_index=parent,
            utilization_pct=None if util is None else int(util.gpu),
            memory_used=None if memory is None else int(memory.used),
            memory_total=None if memory is None else int(memory.total),
            temperature_c=_field(nv.nvmlDeviceGetTemperature, handle, nv.NVML_TEMPERATURE_GPU),
            power_draw_w=None if draw is None else draw / 1000.0,
            power_limit_w=None if limit is None else limit / 1000.0,
        )

    def _running(self, handle: Any, kind: str) -> list[Any] | None:
        """One kind's process list: newest struct first, retried when the list grows mid-call."""
        nv = self._nvml
        for name in _PROCESS_CALLS[kind]:
            for _ in range(_RACE_RETRIES):
                try:
                    return list(getattr(nv, name)(handle))
                except nv.NVMLError_InsufficientSize:
                    continue  # more processes appeared between the sizing call and the read
                except nv.NVMLError_FunctionNotFound:
                    break
                except nv.NVMLError:
                    return None
        return None

    def read_processes(self, gpu_index: str) -> list[GpuProcessReading]:
        handle = self._handles[gpu_index][0]
        by_pid: dict[int, GpuProcessReading] = {}
        for kind in ("compute", "graphics"):
            for proc in self._running(handle, kind) or []:
                pid = int(proc.pid)
                used = getattr(proc, "usedGpuMemory", None)
                entry = by_pid.setdefault(pid, GpuProcessReading(pid, gpu_index, None))
                if used is not None:
                    entry.used_memory = max(entry.used_memory or 0, int(used))
                entry.kinds.append(kind)
        return list(by_pid.values())

    def read_process_utilization(self, gpu_index: str) -> dict[int, int]:
        nv = self._nvml
        handle = self._handles[gpu_index][0]
        since_us = int((time.time() - 1.0) * 1_000_000)
        for _ in range(_RACE_RETRIES):
            try:
                samples = nv.nvmlDeviceGetProcessUtilization(handle, since_us)
            except nv.NVMLError_InsufficientSize:
                continue
            except nv.NVMLError:  # NotFound: no sample in the window; NotSupported: MIG, old GPUs
                return {}
            result: dict[int, int] = {}
            for sample in samples:
                result[int(sample.pid)] = max(result.get(int(sample.pid), 0), int(sample.smUtil))
            return result
        return {}

    def close(self) -> None:
        _field(self._nvml.nvmlShutdown)


def connect() -> NvmlSession:
    """Initialise NVML; :class:`GpuUnavailableError` when the library or driver is missing."""
    fake = os.environ.get("NEXUS_NVML_FAKE")
    if fake:
        return JsonSession(Path(fake))
    try:
        import pynvml
    except ImportError:
        raise GpuUnavailableError(
            "the NVML Python binding is not installed", hint="pip install nvidia-ml-py"
        ) from None
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        raise GpuUnavailableError(f"no NVIDIA GPU available: {exc}", hint=_HINT) from None
    except OSError as exc:  # the shared library exists but cannot be loaded
        raise GpuUnavailableError(f"NVML cannot be loaded: {exc}", hint=_HINT) from None
    return PynvmlSession()


@contextmanager
def opened() -> Iterator[NvmlSession]:
    """A session that is always shut down."""
    session = connect()
    try:
        yield session
    finally:
        session.close()
