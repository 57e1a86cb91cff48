"""The monitor's frame: one in-process NVML snapshot, rendered with Rich or as plain rows."""

from __future__ import annotations

import io
import os
from collections.abc import Callable

from rich.console import Console

from nexus_cli.gpu.model import GpuProcessReading
from nexus_cli.gpu.monitor import Poller, device_rows, process_rows, render
from tests.gpu.conftest import GIB, FakeNvml, make_gpu


def test_snapshot_and_rows(fake_nvml: Callable[..., FakeNvml]) -> None:
    fake = fake_nvml(
        [make_gpu("0"), make_gpu("1", utilization_pct=None, power_draw_w=None)],
        {"0": [GpuProcessReading(os.getpid(), "0", 3 * GIB, ["compute"])]},
        {"0": {os.getpid(): 41}},
    )
    snap = Poller(fake).snapshot()
    rows = device_rows(snap)
    assert rows[0] == (
        "0",
        "NVIDIA H100 80GB HBM3",
        "95%",
        "22.0 GiB / 80.0 GiB",
        "78°C",
        "350 W / 700 W",
        "1",
    )
    assert rows[1][2] == "n/a" and rows[1][5] == "n/a"
    (proc,) = process_rows(snap)
    assert proc[:2] == ("0", str(os.getpid())) and proc[2].startswith("python")
    assert proc[3:] == ("3.0 GiB", "41%")


def test_render_draws_every_gpu(fake_nvml: Callable[..., FakeNvml]) -> None:
    fake = fake_nvml([make_gpu(str(i)) for i in range(4)])
    out = io.StringIO()
    Console(file=out, width=140, color_system=None).print(render(Poller(fake).snapshot()))
    text = out.getvalue()
    assert text.count("NVIDIA H100") == 4 and "Processes" in text
