"""The text layout of the impact report follows the seed's "Process Impact Analysis"."""

from __future__ import annotations

from collections.abc import Callable

from nexus_cli.gpu import impact
from nexus_cli.gpu.model import GpuProcessReading
from nexus_cli.gpu.report_text import impact_lines
from tests.gpu.conftest import GIB, FakeNvml, Trainer, make_gpu

SECTIONS = [
    "Current State:",
    "Resources (process and children):",
    "Checkpoints:",
    "If Killed Now:",
    "Child Processes (will also terminate):",
    "Distributed Training Impact:",
    "Recommendations:",
]


def test_layout_with_gpus_and_ranks(
    start_trainer: Callable[..., Trainer], fake_nvml: Callable[..., FakeNvml]
) -> None:
    env = {"RANK": "0", "WORLD_SIZE": "4", "MASTER_ADDR": "10.0.0.1", "LOCAL_RANK": "0"}
    trainer = start_trainer(  # five checkpoints, then none: the newest stays the open one
        "--epochs", "60", "--interval", "0.2", "--checkpoints", "5", env=env, checkpoints=5
    )
    fake = fake_nvml(
        [make_gpu("0"), make_gpu("1", utilization_pct=93, temperature_c=76)],
        {
            "0": [GpuProcessReading(trainer.pid, "0", 22 * GIB, ["compute"])],
            "1": [GpuProcessReading(trainer.pid, "1", 22 * GIB, ["compute"])],
        },
        {"0": {trainer.pid: 90}},
    )
    lines = impact_lines(impact.analyze(trainer.pid, [], fake))
    assert lines[0].startswith(f"Process Impact Analysis - PID: {trainer.pid} (")
    assert [line for line in lines if line in SECTIONS] == SECTIONS
    text = "\n".join(lines)
    assert "  GPU 0: 95% util (SM 90% by this process), 22.0 GiB VRAM, 78°C" in text
    assert "  GPU 1: 93% util (SM n/a by this process), 22.0 GiB VRAM, 76°C" in text
    assert "/60 (" in text and "% complete)" in text and " total, started " in text
    assert "GPU-hours wasted:" in text and "(2 GPUs x" in text
    assert "  - This is rank 0 (master)" in text and "3 other ranks" in text
    assert "Total cluster waste:" in text
    assert "(still open by the process)" in text and "Recovery possible from ckpt_epoch" in text
    keys = [line[:5] for line in lines[lines.index("Recommendations:") + 1 :]]
    assert [k for k in keys if k.strip()] == ["  [W]", "  [G]", "  [S]", "  [K]"]
    assert all(len(line) <= 80 for line in lines)


def test_a_cut_command_line_ends_in_an_ellipsis_and_every_line_fits_80_columns(
    start_trainer: Callable[..., Trainer],
) -> None:
    trainer = start_trainer("--epochs", "10")
    report = impact.analyze(trainer.pid, [], None)
    # Cut at 60 characters, as the header once did, this read `--epochs 1`.
    report.process.command = (
        "python train.py --data /data/imagenet/tr --lr 0.1 --epochs 10 --seed 3"
    )
    assert report.process.command[:60].endswith("--epochs 1")
    lines = impact_lines(report)
    assert lines[0].endswith("…)") and "--epochs 1)" not in lines[0]
    assert all(len(line) <= 80 for line in lines), [x for x in lines if len(x) > 80]
    report.process.command = "python train.py --epochs 10"
    assert impact_lines(report)[0].endswith("(python train.py --epochs 10)")
