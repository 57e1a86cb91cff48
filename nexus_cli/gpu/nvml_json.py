"""An NVML session read from a JSON file: the test double at the adapter, usable in a subprocess.

:func:`nexus_cli.gpu.nvml.connect` returns one only when ``NEXUS_NVML_FAKE`` names a file (tests
set it for `nexus` subprocesses, e.g. the monitor under tmux). The file is re-read on every
device read, so a test can change the readings while the process runs::

    {"driver_version": "550.54.15",
     "devices": [{"index": "0", "name": "...", "utilization_pct": 95, ...}],
     "processes": {"0": [{"pid": 1234, "used_memory": 1073741824, "kinds": ["compute"]}]},
     "sm_util": {"0": {"1234": 93}}}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nexus_cli.gpu.model import GpuProcessReading, GpuReading, GpuUnavailableError

ENV = "NEXUS_NVML_FAKE"


class JsonSession:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._data: dict[str, Any] = {}
        self._load()
        self.driver_version: str | None = self._data.get("driver_version")

    def _load(self) -> None:
        try:
            self._data = json.loads(self._path.read_text())
        except (OSError, ValueError) as exc:
            raise GpuUnavailableError(f"{ENV}: cannot read {self._path}: {exc}") from None

    def read_devices(self) -> list[GpuReading]:
        self._load()
        try:
            return [GpuReading(**d) for d in self._data.get("devices", [])]
        except (TypeError, AttributeError) as exc:
            raise GpuUnavailableError(f"{ENV}: bad device in {self._path}: {exc}") from None

    def read_processes(self, gpu_index: str) -> list[GpuProcessReading]:
        return [
            GpuProcessReading(p["pid"], gpu_index, p.get("used_memory"), p.get("kinds", []))
            for p in self._data.get("processes", {}).get(gpu_index, [])
        ]

    def read_process_utilization(self, gpu_index: str) -> dict[int, int]:
        return {int(k): int(v) for k, v in self._data.get("sm_util", {}).get(gpu_index, {}).items()}

    def close(self) -> None:
        return None
