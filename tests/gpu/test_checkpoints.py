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


def test_cadence_counts_only_checkpoints_of_this_run() -> None:
    """Regression: older checkpoints gave a cadence ("overdue by 1.7s") to a run that had
    written fewer than two of its own."""
    series = _series([0, 10, 20, 30, 1000, 1300])
    assert ckpt.cadence_s(series, since=900) == pytest.approx(300)
    assert ckpt.cadence_s(series, since=1250) is None
    assert ckpt.cadence_s(series, since=2000) is None


def test_relative_and_absolute_spellings_count_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: `--checkpoint-dir checkpoints` (relative) reported four files as "Found: 8"."""
    for i in range(4):
        _write(tmp_path / "checkpoints" / f"model_epoch_{i}.pt", 40 - i)
    monkeypatch.chdir(tmp_path)
    opened = [str(tmp_path / "checkpoints" / "model_epoch_3.pt")]
    found = ckpt.find_checkpoints(opened, str(tmp_path), [Path("checkpoints")])
    assert len(found) == 4
    assert all(Path(c.path).is_absolute() for c in found)
    assert [c.open_by_process for c in found] == [False, False, False, True]


def test_a_symlinked_last_checkpoint_counts_once(tmp_path: Path) -> None:
    target = _write(tmp_path / "ckpts" / "epoch=1-step=20.ckpt", 5)
    (tmp_path / "ckpts" / "last.ckpt").symlink_to(target.name)
    (found,) = ckpt.find_checkpoints([], str(tmp_path), [])
    assert found.path == str(target) and found.layout == "lightning"


@pytest.mark.parametrize(
    ("cmdline", "expected"),
    [
        (["python", "train.py", "--output_dir", "out"], ["run/out"]),
        (["python", "train.py", "--output-dir=/abs/out"], ["/abs/out"]),
        (["python", "fit.py", "--trainer.callbacks.dirpath=ckpts"], ["run/ckpts"]),
        (["deepspeed", "t.py", "--save", "ds", "--epochs", "3"], ["run/ds"]),
        (["python", "t.py", "--save_dir"], []),
        (["python", "t.py", "--save-dir", "--fast"], []),
        (["python", "t.py", "--lr", "0.1", "out"], []),
    ],
)
def test_checkpoint_dirs_from_the_command_line(cmdline: list[str], expected: list[str]) -> None:
    found = ckpt.dirs_from_cmdline(cmdline, "/home/u")
    assert [str(p) for p in found] == [
        e if e.startswith("/") else "/home/u/" + e.removeprefix("run/") for e in expected
    ]


def test_a_file_open_inside_a_checkpoint_folder_counts_as_that_folder(tmp_path: Path) -> None:
    weights = _write(tmp_path / "out" / "checkpoint-200" / "model.safetensors", 1, size=100)
    _write(tmp_path / "out" / "checkpoint-200" / "optimizer.pt", 1, size=50)
    found = ckpt.find_checkpoints([str(weights)], None, [])
    assert [(Path(c.path).name, c.layout, c.size) for c in found] == [
        ("checkpoint-200", "huggingface", 150)
    ]
