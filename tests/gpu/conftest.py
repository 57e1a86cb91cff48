"""GPU test fixtures: a real trainer process, and the in-memory NVML session.

The fake replaces only :func:`nexus_cli.gpu.nvml.connect` (the one adapter boundary); everything
else in these tests — processes, files, signals, /proc — is real.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pytest

from nexus_cli.gpu import nvml
from nexus_cli.gpu.model import GpuProcessReading, GpuReading, GpuUnavailableError

HERE = Path(__file__).resolve().parent
GIB = 1024**3


@dataclass
class FakeNvml:
    """An NVML session held in memory: the same interface as ``nvml.PynvmlSession``."""

    devices: list[GpuReading]
    processes: dict[str, list[GpuProcessReading]] = field(default_factory=dict)
    sm_util: dict[str, dict[int, int]] = field(default_factory=dict)
    driver_version: str | None = "550.54.15"
    closed: int = 0

    def read_devices(self) -> list[GpuReading]:
        return list(self.devices)

    def read_processes(self, gpu_index: str) -> list[GpuProcessReading]:
        return list(self.processes.get(gpu_index, []))

    def read_process_utilization(self, gpu_index: str) -> dict[int, int]:
        return dict(self.sm_util.get(gpu_index, {}))

    def close(self) -> None:
        self.closed += 1


def make_gpu(index: str, **overrides: object) -> GpuReading:
    values: dict[str, object] = {
        "name": "NVIDIA H100 80GB HBM3",
        "uuid": f"GPU-0000000{index.replace(':', '')}-fake",
        "utilization_pct": 95,
        "memory_used": 22 * GIB,
        "memory_total": 80 * GIB,
        "temperature_c": 78,
        "power_draw_w": 350.0,
        "power_limit_w": 700.0,
    }
    values.update(overrides)
    return GpuReading(index=index, **values)  # type: ignore[arg-type]


@pytest.fixture
def fake_nvml(monkeypatch: pytest.MonkeyPatch) -> Callable[..., FakeNvml]:
    """Install a fake session: ``fake_nvml(devices, processes, sm_util)`` returns it."""

    def install(
        devices: list[GpuReading],
        processes: dict[str, list[GpuProcessReading]] | None = None,
        sm_util: dict[str, dict[int, int]] | None = None,
    ) -> FakeNvml:
        fake = FakeNvml(devices, processes or {}, sm_util or {})
        monkeypatch.setattr(nvml, "connect", lambda: fake)
        return fake

    return install


def write_fake_nvml(
    path: Path,
    devices: list[GpuReading],
    processes: dict[str, list[GpuProcessReading]] | None = None,
    sm_util: dict[str, dict[int, int]] | None = None,
) -> dict[str, str]:
    """Write the JSON that ``NEXUS_NVML_FAKE`` reads; returns the env for a `nexus` subprocess."""
    data = {
        "driver_version": "550.54.15",
        "devices": [asdict(d) for d in devices],
        "processes": {
            gpu: [{"pid": p.pid, "used_memory": p.used_memory, "kinds": p.kinds} for p in procs]
            for gpu, procs in (processes or {}).items()
        },
        "sm_util": {gpu: {str(k): v for k, v in u.items()} for gpu, u in (sm_util or {}).items()},
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)  # a reader never sees half a file
    return {"NEXUS_NVML_FAKE": str(path)}


def nvml_reason() -> str | None:
    """None when a real NVML session opens here, else why not."""
    try:
        nvml.connect().close()
    except GpuUnavailableError as exc:
        return exc.message
    return None


@pytest.fixture
def no_nvml() -> None:
    """For tests of the no-driver path: skip on a machine that has a working NVIDIA driver."""
    if nvml_reason() is None:
        pytest.skip("this machine has a working NVIDIA driver")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """GPU-marked tests skip without a driver, and fail instead when NEXUS_REQUIRE_GPU=1."""
    if item.get_closest_marker("gpu") is None:
        return
    reason = nvml_reason()
    if reason is None:
        return
    if os.environ.get("NEXUS_REQUIRE_GPU") == "1":
        pytest.fail(f"NEXUS_REQUIRE_GPU=1 but {reason}")
    pytest.skip(f"no NVIDIA GPU: {reason}")


@dataclass
class Trainer:
    proc: subprocess.Popen[bytes]
    ckpt_dir: Path
    cwd: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def checkpoints(self) -> list[Path]:
        return sorted(self.ckpt_dir.glob("ckpt_*.pt"), key=lambda p: p.stat().st_mtime)

    def worker_pids(self) -> list[int]:
        return [int(x) for x in (self.ckpt_dir / "workers").read_text().split()]

    def wait_for_checkpoints(self, count: int, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while len(self.checkpoints()) < count or not (self.ckpt_dir / "workers").exists():
            assert self.proc.poll() is None, "the trainer died"
            assert time.monotonic() < deadline, "the trainer wrote no checkpoints in time"
            time.sleep(0.05)


def wait_until(check: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def running_process(argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """``argv`` started, returned once /proc shows the new program. ``Popen`` may return while
    the kernel is still setting up the exec: the command line and environment then read empty,
    so a reading of the process (whose task it is, its name) taken at once could miss it."""
    import psutil

    proc = subprocess.Popen(argv, env=env)

    def running() -> bool:
        with contextlib.suppress(psutil.Error):
            return psutil.Process(proc.pid).cmdline() == argv
        return False

    wait_until(running)
    return proc


@pytest.fixture
def start_trainer(tmp_path: Path) -> Iterator[Callable[..., Trainer]]:
    """Start ``tests/gpu/trainer.py`` (its own session) and wait for three checkpoints."""
    started: list[Trainer] = []

    def start(*args: str, env: dict[str, str] | None = None, checkpoints: int = 3) -> Trainer:
        cwd = tmp_path / f"run{len(started)}"
        ckpt_dir = tmp_path / f"ckpts{len(started)}"
        cwd.mkdir()
        proc = subprocess.Popen(
            [sys.executable, str(HERE / "trainer.py"), "--dir", str(ckpt_dir), *args],
            cwd=cwd,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
        trainer = Trainer(proc, ckpt_dir, cwd)
        started.append(trainer)
        trainer.wait_for_checkpoints(checkpoints)
        return trainer

    yield start
    for trainer in started:
        # The trainer and its workers: one process group, started above.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(trainer.proc.pid, signal.SIGKILL)
        trainer.proc.wait(timeout=10)
