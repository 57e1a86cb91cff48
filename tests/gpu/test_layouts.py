"""Checkpoint layouts of the common frameworks, written by a real trainer process and found by
`gpu impact` without flags; and the two checkpoint-analysis regressions end to end."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from nexus_cli.gpu import impact
from tests.conftest import run_process
from tests.gpu.conftest import HERE, wait_until

Start = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def start_layout(tmp_path: Path) -> Iterator[Start]:
    """Start ``layout_trainer.py`` in ``tmp_path/run`` and wait until it has written everything."""
    started: list[subprocess.Popen[bytes]] = []
    run = tmp_path / "run"
    run.mkdir()

    def start(*args: str, timeout: float = 60) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, str(HERE / "layout_trainer.py"), *args],
            cwd=run,
            start_new_session=True,
        )
        started.append(proc)
        wait_until(lambda: (run / ".layout_done").exists() or proc.poll() is not None, timeout)
        assert proc.poll() is None, "the trainer died"
        return proc

    yield start
    for proc in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.mark.parametrize(
    ("args", "layout", "newest"),
    [
        (["--layout", "lightning"], "lightning", "epoch=2-step=30.ckpt"),
        (["--layout", "lightning", "--dirpath", "ckpts/lit"], "lightning", "epoch=2-step=30.ckpt"),
        (["--layout", "huggingface", "--output_dir", "out"], "huggingface", "checkpoint-30"),
        (["--layout", "huggingface"], "huggingface", "checkpoint-30"),
        (["--layout", "deepspeed", "--save", "ds"], "deepspeed", "global_step30"),
        (["--layout", "plain"], "torch.save", "model_epoch_2.pt"),
    ],
)
def test_layouts_are_found_without_flags(
    start_layout: Start, args: list[str], layout: str, newest: str
) -> None:
    proc = start_layout(*args, "--count", "3", "--interval", "0.3")
    report = impact.analyze(proc.pid, [], None)
    assert report.checkpoints_found == 3, report.newest_checkpoint
    assert report.checkpoint_layouts == [layout]
    assert report.newest_checkpoint is not None
    assert Path(report.newest_checkpoint.path).name == newest
    assert report.checkpoints_from_earlier_run == 0
    assert report.cadence_s == pytest.approx(0.3, abs=0.25)


def test_layouts_written_by_torch(start_layout: Start) -> None:
    if importlib.util.find_spec("torch") is None:
        pytest.skip("PyTorch is not installed (pip install torch)")
    every = ["--layout", "lightning", "--layout", "huggingface", "--layout", "deepspeed"]
    proc = start_layout(*every, "--layout", "plain", "--backend", "torch", "--count", "2")
    report = impact.analyze(proc.pid, [], None)
    assert report.checkpoint_layouts == ["deepspeed", "huggingface", "lightning", "torch.save"]
    assert report.checkpoints_found == 8
    import torch

    newest = Path(report.process.cwd or "") / "model_epoch_1.pt"
    assert set(torch.load(newest, weights_only=True)) == {"model", "optimizer"}


def _age(path: Path, seconds: float) -> None:
    stamp = time.time() - seconds
    os.utime(path, (stamp, stamp))


def test_checkpoints_of_an_earlier_run_give_no_cadence(start_layout: Start, tmp_path: Path) -> None:
    """Regression: a resumed run with one checkpoint of its own showed "overdue by 1.7s" and
    "estimated 6.2s total", both computed from the earlier run's files."""
    old = tmp_path / "run" / "lightning_logs" / "version_0" / "checkpoints"
    old.mkdir(parents=True)
    for epoch, age in ((4, 300), (5, 200)):
        (old / f"epoch={epoch}-step={epoch * 100}.ckpt").write_bytes(b"old")
        _age(old / f"epoch={epoch}-step={epoch * 100}.ckpt", age)
    proc = start_layout("--layout", "plain", "--into", "later", "--count", "1")
    report = impact.analyze(proc.pid, [], None)
    assert report.checkpoints_found == 3 and report.checkpoints_from_earlier_run == 2
    assert report.cadence_s is None and report.next_checkpoint_in_s is None
    assert "overdue" not in report.recommendations[0]["text"]


def test_earlier_run_is_named_in_the_report(start_layout: Start, tmp_path: Path) -> None:
    old = tmp_path / "run" / "trainer_output"
    for step in (100, 200, 300):
        (old / f"checkpoint-{step}").mkdir(parents=True)
        (old / f"checkpoint-{step}" / "optimizer.pt").write_bytes(b"old")
        _age(old / f"checkpoint-{step}" / "optimizer.pt", 400 - step)
        _age(old / f"checkpoint-{step}", 400 - step)
    proc = start_layout("--layout", "huggingface", "--count", "1", "--epochs", "10")
    text = run_process("gpu", "impact", str(proc.pid)).stdout
    assert "Found: 4 (3 from an earlier run), layout: Hugging Face Trainer" in text
    assert "Cadence: unknown (fewer than two checkpoints written by this run)" in text
    assert "overdue" not in text


def test_estimated_total_ignores_an_earlier_runs_epoch(start_layout: Start, tmp_path: Path) -> None:
    proc = start_layout("--layout", "plain", "--into", "ck", "--count", "1", "--epochs", "10")
    earlier = tmp_path / "run" / "ck" / "model_epoch_5.pt"
    earlier.write_bytes(b"old")
    stamp = time.time() + 60  # the newest file, yet ...
    os.utime(earlier, (stamp, stamp))
    report = impact.analyze(proc.pid, [], None)
    assert report.progress is not None and report.progress.from_this_run
    _age(earlier, 3600)  # ... written before the process started
    (tmp_path / "run" / "ck" / "model_epoch_0.pt").unlink()
    report = impact.analyze(proc.pid, [], None)
    assert report.progress is not None and report.progress.epoch == 5
    assert not report.progress.from_this_run and report.estimated_total_s() is None
    text = " ".join(run_process("gpu", "impact", str(proc.pid)).stdout.split())  # unwrapped
    assert "(estimated" not in text and "written by an earlier run)" in text


def test_relative_checkpoint_dir_counts_each_file_once(start_layout: Start, tmp_path: Path) -> None:
    """Regression: `--checkpoint-dir checkpoints` with four files said "Found: 8"."""
    proc = start_layout("--layout", "plain", "--into", "checkpoints", "--count", "4")
    out = run_process(
        "gpu", "impact", str(proc.pid), "--checkpoint-dir", "checkpoints", cwd=tmp_path / "run"
    )
    assert out.returncode == 0, out.stderr
    assert "  Found: 4, layout: torch.save files" in out.stdout
