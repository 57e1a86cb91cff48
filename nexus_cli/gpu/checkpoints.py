"""Finding a training run's checkpoints, their cadence, and the progress their names carry."""

from __future__ import annotations

import itertools
import os
import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SUFFIXES = (".pt", ".pth", ".ckpt", ".safetensors")
PREFIXES = ("checkpoint", "hpc_ckpt_")
_EPOCH = re.compile(r"epoch[_\-=]?(\d+)", re.IGNORECASE)
_STEP = re.compile(r"(?:global_step|step|iter|it)[_\-=]?(\d+)", re.IGNORECASE)
_HF_STEP = re.compile(r"^checkpoint-(\d+)$", re.IGNORECASE)
_CHECKPOINT_DIR = re.compile(r"^(?:checkpoint|hpc_ckpt)[-_]?\d+$|\.ckpt$", re.IGNORECASE)
_MAX_ENTRIES = 5000  # per folder: never crawl a whole dataset


@dataclass
class Checkpoint:
    path: str
    mtime: float
    size: int
    epoch: int | None
    step: int | None
    open_by_process: bool = False


def is_checkpoint_name(name: str) -> bool:
    lower = name.lower()
    return lower.endswith(SUFFIXES) or lower.startswith(PREFIXES)


def parse_progress(name: str) -> tuple[int | None, int | None]:
    """(epoch, step) from a checkpoint name such as ``ckpt_epoch3_step1200.pt``."""
    stem = Path(name).name
    epoch = _EPOCH.search(stem)
    step = _STEP.search(stem) or _HF_STEP.match(stem)
    return (int(epoch.group(1)) if epoch else None, int(step.group(1)) if step else None)


def _describe(path: Path, open_paths: set[str]) -> Checkpoint | None:
    try:
        st = path.stat()
        size, mtime = st.st_size, st.st_mtime
        if path.is_dir():  # e.g. Hugging Face `checkpoint-500/`
            for entry in os.scandir(path):
                if entry.is_file(follow_symlinks=False):
                    info = entry.stat(follow_symlinks=False)
                    size += info.st_size
                    mtime = max(mtime, info.st_mtime)
    except OSError:
        return None
    epoch, step = parse_progress(path.name)
    return Checkpoint(str(path), mtime, size, epoch, step, str(path) in open_paths)


def _scan(folder: Path, depth: int, open_paths: set[str]) -> Iterable[Checkpoint]:
    try:
        entries = list(os.scandir(folder))[:_MAX_ENTRIES]
    except OSError:
        return
    for entry in entries:
        is_dir = entry.is_dir(follow_symlinks=False)
        # A folder is a checkpoint when named like one (`checkpoint-500/`, DeepSpeed `x.ckpt/`);
        # any other folder (`checkpoints/`) is searched.
        if _CHECKPOINT_DIR.search(entry.name) if is_dir else is_checkpoint_name(entry.name):
            found = _describe(Path(entry.path), open_paths)
            if found is not None:
                yield found
        elif depth > 0 and is_dir and not entry.name.startswith("."):
            yield from _scan(Path(entry.path), depth - 1, open_paths)


def find_checkpoints(
    open_files: list[str], cwd: str | None, extra_dirs: list[Path]
) -> list[Checkpoint]:
    """Checkpoints next to the process's open checkpoint files, under its cwd and ``extra_dirs``.

    Sorted oldest first. Folders are searched one level deep (``--checkpoint-dir`` two levels).
    """
    opened = {p for p in open_files if is_checkpoint_name(Path(p).name)}
    plan: dict[Path, int] = {Path(p).parent: 0 for p in opened}
    if cwd and Path(cwd) != Path("/"):  # daemons run in /: never crawl the whole disk
        plan.setdefault(Path(cwd), 1)
    for folder in extra_dirs:
        plan[folder] = 2
    found: dict[str, Checkpoint] = {}
    for folder, depth in plan.items():
        for ckpt in _scan(folder, depth, opened):
            found[ckpt.path] = ckpt
    return sorted(found.values(), key=lambda c: c.mtime)


def cadence_s(checkpoints: list[Checkpoint], since: float | None = None) -> float | None:
    """Typical seconds between checkpoints (median gap of the last ten), None with fewer than two.

    Only checkpoints written after ``since`` (the process start) count when there are two of them.
    """
    times = sorted(c.mtime for c in checkpoints)
    if since is not None and sum(t >= since for t in times) >= 2:
        times = [t for t in times if t >= since]
    recent = times[-11:]
    gaps = [b - a for a, b in itertools.pairwise(recent) if b - a > 0.05]
    return statistics.median(gaps) if gaps else None
