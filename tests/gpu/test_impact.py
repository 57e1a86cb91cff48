"""Impact analysis of a real trainer process (children, checkpoints, cadence, ranks, GPUs)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from nexus_cli.errors import NotFoundError
from nexus_cli.gpu import impact
from nexus_cli.gpu.model import GpuProcessReading
from tests.gpu.conftest import GIB, FakeNvml, Trainer, make_gpu


def test_cpu_side_analysis_of_a_trainer(start_trainer: Callable[..., Trainer]) -> None:
    # Three checkpoints, then none: the newest is still the open one when the files are read.
    trainer = start_trainer(
        "--workers", "3", "--interval", "0.3", "--epochs", "10", "--checkpoints", "3"
    )
    report = impact.analyze(trainer.pid, [], None)
    assert report.process.pid == trainer.pid
    assert "trainer.py" in report.process.command
    assert sorted(c.pid for c in report.process.children) == sorted(trainer.worker_pids())
    assert all(c.role and "worker" in c.role for c in report.process.children)
    assert not report.gpu_available and report.gpus == []
    # Found through the open file alone: the checkpoints are not under the cwd.
    newest = report.newest_checkpoint
    assert newest is not None and newest.open_by_process
    assert Path(newest.path).parent == trainer.ckpt_dir
    assert report.checkpoints_found >= 3
    assert report.cadence_s is not None and 0.2 <= report.cadence_s <= 0.8
    assert report.progress is not None and report.progress.total_epochs == 10
    assert report.progress.step == newest.step and newest.step is not None
    if report.progress.percent:  # epoch 0 gives no estimate
        total = report.estimated_total_s()
        assert total == pytest.approx(
            report.process.runtime_s * 100 / report.progress.percent, 0.01
        )
    assert newest.step % 100 == 0 and report.progress.epoch == newest.step // 400
    assert report.distributed is None and report.environment_readable
    assert report.handlers == {"SIGUSR1": True, "SIGTERM": True, "SIGINT": True}
    assert report.graceful_signal == "SIGUSR1"
    assert report.work_lost.since == "last checkpoint"
    assert report.work_lost.seconds < 2 and report.work_lost.gpu_hours is None
    assert [r["key"] for r in report.recommendations] == ["W", "G", "S", "K"]


def test_newest_checkpoint_is_the_latest_written(start_trainer: Callable[..., Trainer]) -> None:
    trainer = start_trainer("--interval", "0.3")
    report = impact.analyze(trainer.pid, [], None)
    assert report.newest_checkpoint is not None
    names = [p.name for p in trainer.checkpoints()]
    assert Path(report.newest_checkpoint.path).name in names[-2:]  # one may land meanwhile


def test_distributed_job_multiplies_the_loss(
    start_trainer: Callable[..., Trainer], fake_nvml: Callable[..., FakeNvml]
) -> None:
    env = {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "4", "MASTER_ADDR": "10.0.0.1"}
    trainer = start_trainer(env=env)
    worker = trainer.worker_pids()[0]
    fake = fake_nvml(
        [make_gpu("0"), make_gpu("1"), make_gpu("2")],
        {
            "0": [GpuProcessReading(trainer.pid, "0", 20 * GIB, ["compute"])],
            "1": [
                GpuProcessReading(trainer.pid, "1", 10 * GIB, ["compute"]),
                GpuProcessReading(worker, "1", 1 * GIB, ["compute"]),
            ],
            "2": [GpuProcessReading(999_999_999, "2", 5 * GIB, ["compute"])],
        },
        {"1": {trainer.pid: 93, worker: 12}},
    )
    report = impact.analyze(trainer.pid, [], fake)
    dist = report.distributed
    assert dist is not None and dist.rank == 0 and dist.world_size == 4 and dist.is_master
    assert dist.master_addr == "10.0.0.1"
    assert [g.index for g in report.gpus] == ["0", "1"]
    assert report.gpus[1].memory_used == 11 * GIB and report.gpus[1].sm_util_pct == 93
    assert report.gpus[1].pids == sorted([trainer.pid, worker])
    lost = report.work_lost
    assert lost.gpus == 2 and lost.world_size == 4 and lost.gpu_hours is not None
    assert lost.gpu_hours == pytest.approx(lost.seconds / 3600 * 2, abs=1e-3)
    assert lost.cluster_gpu_hours == pytest.approx(lost.gpu_hours * 4, abs=1e-3)
    assert "3 other ranks" in report.recommendations[2]["text"]


def test_work_lost_counts_from_start_when_no_checkpoint_is_newer(
    start_trainer: Callable[..., Trainer],
) -> None:
    trainer = start_trainer("--interval", "60", checkpoints=1)
    (only,) = trainer.checkpoints()
    two_hours_ago = time.time() - 7200
    os.utime(only, (two_hours_ago, two_hours_ago))  # written by an earlier run
    report = impact.analyze(trainer.pid, [], None)
    assert report.newest_checkpoint is not None and report.checkpoint_age_s is not None
    assert report.checkpoint_age_s == pytest.approx(7200, abs=5)
    assert report.cadence_s is None and report.next_checkpoint_in_s is None
    assert report.work_lost.since == "process start"
    assert report.work_lost.seconds == pytest.approx(report.process.runtime_s, abs=1.0)
    assert "cadence unknown" in report.recommendations[0]["text"]


def test_a_checkpoint_written_as_the_process_started_belongs_to_this_run(
    start_trainer: Callable[..., Trainer],
) -> None:
    """The start time read from /proc and a file's mtime can disagree by up to about a second:
    a checkpoint written in that moment is this run's, not "from an earlier run"."""
    trainer = start_trainer("--interval", "60", checkpoints=1)
    (only,) = trainer.checkpoints()
    started = psutil.Process(trainer.pid).create_time()
    os.utime(only, (started - 0.5, started - 0.5))
    report = impact.analyze(trainer.pid, [], None)
    assert report.checkpoints_from_earlier_run == 0
    assert report.work_lost.since == "last checkpoint"
    os.utime(only, (started - 5, started - 5))
    assert impact.analyze(trainer.pid, [], None).checkpoints_from_earlier_run == 1


def test_usr1_handler_absent_means_graceful_is_sigterm(
    start_trainer: Callable[..., Trainer],
) -> None:
    trainer = start_trainer("--no-usr1")
    report = impact.analyze(trainer.pid, [], None)
    assert report.handlers["SIGUSR1"] is False and report.handlers["SIGTERM"] is True
    assert report.graceful_signal == "SIGTERM"
    assert impact.graceful_signal(trainer.pid) == signal.SIGTERM


def test_missing_process_is_not_found() -> None:
    with pytest.raises(NotFoundError):
        impact.analyze(2**22 + 12345, [], None)


def test_checkpoint_dir_option_finds_checkpoints_elsewhere(
    start_trainer: Callable[..., Trainer], tmp_path: Path
) -> None:
    trainer = start_trainer("--no-usr1")
    other = tmp_path / "elsewhere" / "nested"
    other.mkdir(parents=True)
    (other / "hpc_ckpt_7.ckpt").write_bytes(b"y" * 10)
    os.utime(other / "hpc_ckpt_7.ckpt", (time.time() + 5, time.time() + 5))
    report = impact.analyze(trainer.pid, [tmp_path / "elsewhere"], None)
    assert report.newest_checkpoint is not None
    assert report.newest_checkpoint.path.endswith("hpc_ckpt_7.ckpt")
    assert not report.newest_checkpoint.open_by_process


@pytest.mark.parametrize(
    ("cmdline", "expected"),
    [
        (["python", "train.py", "--epochs", "60"], 60),
        (["python", "train.py", "--max-epochs=12"], 12),
        (["python", "train.py", "--max_epochs", "x"], None),
        (["python", "train.py"], None),
    ],
)
def test_total_epochs_from_the_command_line(cmdline: list[str], expected: int | None) -> None:
    assert impact.total_epochs(cmdline) == expected


def test_mig_memory_is_counted_once(
    start_trainer: Callable[..., Trainer], fake_nvml: Callable[..., FakeNvml]
) -> None:
    """NVML lists a MIG process on the parent GPU and on its MIG device: count it once."""
    trainer = start_trainer()
    proc = GpuProcessReading(trainer.pid, "0", 3 * GIB, ["compute"])
    fake = fake_nvml(
        [make_gpu("0"), make_gpu("0:0", is_mig=True, parent_index="0", utilization_pct=None)],
        {"0": [proc], "0:0": [GpuProcessReading(trainer.pid, "0:0", 3 * GIB, ["compute"])]},
    )
    report = impact.analyze(trainer.pid, [], fake)
    assert [(g.index, g.memory_used) for g in report.gpus] == [("0:0", 3 * GIB)]
    assert report.gpus[0].utilization_pct is None and report.work_lost.gpus == 1
