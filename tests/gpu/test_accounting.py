"""GPU-hours per task: real processes carrying NEXUS_TASK_ID, sampled through the fake NVML."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from nexus_cli.gpu import accounting, guards
from nexus_cli.gpu.model import GpuProcessReading, GpuUnavailableError
from nexus_cli.tasks.metrics import gpu_families
from nexus_cli.telemetry.ship import openmetrics
from tests.conftest import run_nexus
from tests.gpu.conftest import GIB, FakeNvml, make_gpu, running_process, wait_until

Spawn = Callable[[dict[str, str]], int]


@pytest.fixture
def spawn() -> Iterator[Spawn]:
    started: list[subprocess.Popen[bytes]] = []

    def start(env: dict[str, str]) -> int:
        base = {k: v for k, v in os.environ.items() if k != accounting.ENV}
        proc = running_process(
            [sys.executable, "-c", "import time; time.sleep(120)"], {**base, **env}
        )
        started.append(proc)
        return proc.pid

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def test_gpu_time_is_credited_between_close_samples_only(spawn: Spawn) -> None:
    mine = spawn({accounting.ENV: "nx-gpu1"})
    other = spawn({})
    forged = spawn({accounting.ENV: "../../etc"})  # not a task id: ignored
    devices = [make_gpu("0"), make_gpu("1")]
    procs = {
        "0": [GpuProcessReading(mine, "0", 2 * GIB), GpuProcessReading(other, "0", GIB)],
        "1": [GpuProcessReading(mine, "1", 5 * GIB), GpuProcessReading(forged, "1", GIB)],
    }
    t0 = 2_000_000_000.0
    assert accounting.record(devices, procs, now=t0) == 2  # mine, on two devices
    accounting.record(devices, procs, now=t0 + 30)
    (usage,) = accounting.usage_by_task()
    assert usage.task_id == "nx-gpu1" and usage.gpu_seconds == 60  # 2 devices x 30 s
    assert usage.peak_memory == 5 * GIB and usage.samples == 4
    accounting.record(devices, procs, now=t0 + 30 + accounting.MAX_GAP_S + 1)  # a long gap
    assert [u.gpu_seconds for u in accounting.usage_of("nx-gpu1")] == [60]
    assert accounting.usage_by_task(since=t0 + 10_000) == []


def test_workspace_processes_count_for_the_workspace_and_the_task_wins(spawn: Spawn) -> None:
    in_ws = spawn({"NEXUS_WORKSPACE": "train-ws"})
    both = spawn({"NEXUS_WORKSPACE": "train-ws", accounting.ENV: "nx-gpu2"})
    bad = spawn({"NEXUS_WORKSPACE": "../x"})
    devices = [make_gpu("0")]
    procs = {"0": [GpuProcessReading(p, "0", GIB) for p in (in_ws, both, bad)]}
    t0 = 2_000_000_000.0
    for step in (0, 10, 20):
        accounting.record(devices, procs, now=t0 + step)
    found = {u.key: u for u in accounting.usage_by_task()}
    assert set(found) == {"workspace:train-ws", "nx-gpu2"}
    assert found["workspace:train-ws"].gpu_seconds == 20
    assert found["workspace:train-ws"].to_dict()["task_id"] is None
    assert [u.key for u in accounting.usage_of("nx-gpu2", "train-ws")] == [
        "nx-gpu2",
        "workspace:train-ws",
    ]


def test_status_samples_and_stats_and_history_show_it(
    spawn: Spawn, fake_nvml: Callable[..., FakeNvml], project: Path
) -> None:
    task_id = run_nexus("task", "create", "Train", "--no-gates", "--json").json()["id"]
    pid = spawn({accounting.ENV: task_id})
    fake_nvml([make_gpu("0")], {"0": [GpuProcessReading(pid, "0", 3 * GIB, ["compute"])]})
    for _ in range(2):
        assert run_nexus("gpu", "status").exit_code == 0
    data = run_nexus("stats", "--gpu", "--json").json()
    (row,) = data["gpu"]["tasks"]
    assert row["task_id"] == task_id and row["samples"] == 2 and row["peak_memory"] == 3 * GIB
    assert row["gpu_seconds"] > 0 and row["gpu_hours"] == round(row["gpu_seconds"] / 3600, 4)
    assert "gpu" not in run_nexus("stats", "--json").json()
    table = run_nexus("stats", "--gpu").stdout
    assert task_id in table and "3.0 GiB" in table
    history = run_nexus("task", "history", task_id, "--json").json()
    assert history[-1]["action"] == "gpu_usage" and history[-1]["peak_gpu_memory"] == 3 * GIB
    assert "gpu_usage" in run_nexus("task", "history", task_id).stdout


@pytest.mark.docker
def test_a_process_in_a_workspace_container_counts_for_the_workspace(
    docker_client: Any, test_image: str
) -> None:
    """Workspace services carry NEXUS_WORKSPACE; what runs in them (workspace exec) inherits it."""
    container = docker_client.containers.run(
        test_image,
        ["sleep", "600"],
        name=f"nexus-gputest-{uuid.uuid4().hex[:10]}",
        labels={"nexus.test": "gpu"},
        environment={"NEXUS_WORKSPACE": "feature-gpu"},
        detach=True,
    )
    try:
        container.reload()
        pid = int(container.attrs["State"]["Pid"])
        # The engine reports "running" once runc's init is started; it execs `sleep` (and takes
        # on the container's environment) a moment later, so wait for the exec itself.
        wait_until(lambda: Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"sleep\0"), 30)
        expected = None if guards.owner_uid(pid) != os.getuid() else "workspace:feature-gpu"
        assert accounting.owner_of(pid) == expected  # other users' processes are never read
    finally:
        container.remove(force=True)


def test_the_openmetrics_export_carries_task_and_device_gauges(spawn: Spawn) -> None:
    mine = spawn({accounting.ENV: "nx-gpu2"})
    devices = [make_gpu("0", memory_used=3 * GIB, utilization_pct=40)]
    procs = {"0": [GpuProcessReading(mine, "0", 2 * GIB)]}
    t0 = 2_000_000_000.0
    accounting.record(devices, procs, now=t0)
    accounting.record(devices, procs, now=t0 + 20)
    text = openmetrics.render(gpu_families(lambda: devices))
    families = {f.name: f for f in text_string_to_metric_families(text)}
    (spent,) = families["nexus_gpu_seconds"].samples
    assert spent.labels == {"task": "nx-gpu2"} and spent.value == 20
    assert families["nexus_gpu_peak_memory_bytes"].samples[0].value == 2 * GIB
    (used,) = families["nexus_gpu_memory_used_bytes"].samples
    assert used.labels["gpu"] == "0" and used.value == 3 * GIB
    assert families["nexus_gpu_utilization_ratio"].samples[0].value == 0.4


def test_without_a_driver_only_the_attributed_time_is_exported() -> None:

    def no_driver() -> list[Any]:
        raise GpuUnavailableError("no NVIDIA GPU available")

    assert gpu_families(no_driver) == []
