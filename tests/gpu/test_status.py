"""GPU status and the process list, with NVML replaced at its adapter and real host processes."""

from __future__ import annotations

import os
from collections.abc import Callable

from nexus_cli import jsonio
from nexus_cli.gpu import nvml
from nexus_cli.gpu.model import GpuProcessReading
from nexus_cli.gpu.status import read_processes, read_status
from tests.conftest import run_nexus
from tests.gpu.conftest import GIB, FakeNvml, Trainer, make_gpu

GONE = 2**22 + 77  # a PID no process here has (NVML's host PID from another namespace)


def test_status_pairs_each_gpu_with_its_processes(fake_nvml: Callable[..., FakeNvml]) -> None:
    fake_nvml(
        [make_gpu("0"), make_gpu("1", memory_used=None, temperature_c=None)],
        {"1": [GpuProcessReading(os.getpid(), "1", 2 * GIB, ["compute"])]},
    )
    with nvml.opened() as session:
        gpus = read_status(session)
    assert [g.gpu.index for g in gpus] == ["0", "1"]
    assert gpus[0].processes == [] and gpus[1].processes[0].pid == os.getpid()
    as_dict = gpus[1].to_dict()
    assert as_dict["memory_used"] is None and as_dict["processes"][0]["used_memory"] == 2 * GIB


def test_session_is_closed_after_use(fake_nvml: Callable[..., FakeNvml]) -> None:
    fake = fake_nvml([make_gpu("0")])
    with nvml.opened() as session:
        read_status(session)
    assert fake.closed == 1


def test_processes_have_host_details(
    fake_nvml: Callable[..., FakeNvml], start_trainer: Callable[..., Trainer]
) -> None:
    trainer = start_trainer()
    fake = fake_nvml(
        [make_gpu("0"), make_gpu("1"), make_gpu("1:1", is_mig=True, parent_index="1")],
        {
            "0": [GpuProcessReading(trainer.pid, "0", 20 * GIB, ["compute", "graphics"])],
            # NVML lists a MIG process on the parent GPU too: it must appear once.
            "1": [GpuProcessReading(GONE, "1", None, ["compute"])],
            "1:1": [GpuProcessReading(GONE, "1:1", None, ["compute"])],
        },
        {"0": {trainer.pid: 88}},
    )
    rows = read_processes(fake, cpu_window_s=0.05)
    mine, hidden = rows
    assert mine.pid == trainer.pid and mine.gpu_index == "0" and mine.sm_util_pct == 88
    assert mine.namespace == "same" and mine.user and mine.rss_bytes
    assert mine.command and "trainer.py" in mine.command and mine.runtime_s is not None
    assert mine.cpu_percent is not None and mine.kinds == ["compute", "graphics"]
    assert hidden.gpu_index == "1:1" and hidden.namespace == "not visible"
    assert hidden.command is None and hidden.used_memory is None and hidden.sm_util_pct is None


def test_json_output_holds_null_where_a_reading_is_not_a_number(
    fake_nvml: Callable[..., FakeNvml],
) -> None:
    """A driver that reports NaN watts must not put a bare ``NaN`` (not JSON) on stdout."""
    fake_nvml([make_gpu("0", power_draw_w=float("nan"), power_limit_w=float("inf"))])
    result = run_nexus("gpu", "status", "--json")
    assert result.exit_code == 0, result.stderr
    assert "NaN" not in result.stdout and "Infinity" not in result.stdout
    [gpu] = jsonio.loads(result.stdout)["gpus"]
    assert gpu["power_draw_w"] is None and gpu["power_limit_w"] is None
