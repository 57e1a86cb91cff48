"""Checkpoint discovery, names, progress parsing and cadence on real files."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from nexus_cli.gpu import checkpoints as ckpt


def _write(path: Path, age_s: float, size: int = 10) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * size)
    stamp = time.time() - age_s
    os.utime(path, (stamp, stamp))
    return path


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ckpt_epoch3_step1200.pt", (3, 1200)),
        ("model_epoch_44.pt", (44, None)),
        ("epoch=7-step=3500.ckpt", (7, 3500)),
        ("checkpoint-500", (None, 500)),
        ("hpc_ckpt_2.ckpt", (None, None)),
        ("weights.safetensors", (None, None)),
        ("global_step900.pth", (None, 900)),
    ],
)
def test_parse_progress(name: str, expected: tuple[int | None, int | None]) -> None:
    assert ckpt.parse_progress(name) == expected


@pytest.mark.parametrize(
    ("name", "is_ckpt"),
    [
        ("a.pt", True),
        ("a.PTH", True),
        ("a.ckpt", True),
        ("m.safetensors", True),
        ("checkpoint_best", True),
        ("hpc_ckpt_1.ckpt", True),
        ("train.py", False),
        ("data.csv", False),
        ("notes.txt", False),
    ],
)
def test_checkpoint_names(name: str, is_ckpt: bool) -> None:
    assert ckpt.is_checkpoint_name(name) is is_ckpt


def test_find_in_cwd_subfolders_and_extra_dirs(tmp_path: Path) -> None:
    cwd = tmp_path / "run"
    _write(cwd / "checkpoints" / "model_epoch_1.pt", 300, size=100)
    _write(cwd / "checkpoints" / "model_epoch_2.pt", 200, size=200)
    _write(cwd / "train.py", 10)
    _write(cwd / "deep" / "er" / "lost_epoch_9.pt", 1)  # two levels below the cwd: not searched
    extra = _write(tmp_path / "store" / "a" / "hpc_ckpt_3.ckpt", 100)
    found = ckpt.find_checkpoints([], str(cwd), [tmp_path / "store"])
    assert [Path(c.path).name for c in found] == [
        "model_epoch_1.pt",
        "model_epoch_2.pt",
        "hpc_ckpt_3.ckpt",
    ]
    assert found[-1].path == str(extra) and found[1].size == 200 and found[1].epoch == 2


def test_open_file_folder_is_searched_and_marked(tmp_path: Path) -> None:
    held = _write(tmp_path / "far" / "ckpt_epoch1_step100.pt", 5)
    _write(tmp_path / "far" / "ckpt_epoch0_step50.pt", 50)
    found = ckpt.find_checkpoints([str(held), "/etc/hostname"], None, [])
    assert [c.open_by_process for c in found] == [False, True]


def test_hugging_face_checkpoint_folder(tmp_path: Path) -> None:
    folder = tmp_path / "checkpoint-500"
    _write(folder / "model.safetensors", 3, size=1000)
    _write(folder / "optimizer.pt", 2, size=500)
    (found,) = ckpt.find_checkpoints([], str(tmp_path), [])
    assert found.step == 500 and found.size >= 1500


def test_missing_folders_are_skipped(tmp_path: Path) -> None:
    assert ckpt.find_checkpoints([], str(tmp_path / "gone"), [tmp_path / "nope"]) == []


def _series(times: list[float]) -> list[ckpt.Checkpoint]:
    return [ckpt.Checkpoint(f"/c{i}.pt", t, 1, None, None) for i, t in enumerate(times)]


def test_cadence_is_the_median_gap() -> None:
    assert ckpt.cadence_s(_series([0, 600, 1200, 1900, 2400])) == pytest.approx(600)
    assert ckpt.cadence_s(_series([100])) is None
    assert ckpt.cadence_s([]) is None


def test_cadence_prefers_checkpoints_of_this_run() -> None:
    series = _series([0, 10, 20, 30, 1000, 1300])
    assert ckpt.cadence_s(series, since=900) == pytest.approx(300)
    assert ckpt.cadence_s(series, since=1250) == pytest.approx(10)  # too few since: all count
