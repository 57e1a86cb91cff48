"""Finding a training run's checkpoints, their cadence, and the progress their names carry.

The common layouts are found without flags: PyTorch Lightning
(``lightning_logs/version_*/checkpoints/*.ckpt`` or a ``ModelCheckpoint`` dirpath given on the
command line), Hugging Face Trainer (``output_dir/checkpoint-STEP/``), DeepSpeed
(``save_dir/global_stepN/``) and plain ``torch.save`` files. Every path is resolved (symlinks
too) before it is counted, so one file reached two ways counts once.
"""

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
_CHECKPOINT_DIR = re.compile(
    r"^(?:checkpoint|hpc_ckpt)[-_]?\d+$|^global_step\d+$|\.ckpt$", re.IGNORECASE
)
# Options whose value is where a trainer writes checkpoints: Lightning's ModelCheckpoint
# `dirpath` and `default_root_dir` (also as `--trainer.callbacks.dirpath=`), HF's `output_dir`,
# DeepSpeed/Megatron's `save`, and the usual hand-written names.
_DIR_OPTIONS = frozenset(
    {
        "dirpath",
        "default_root_dir",
        "output_dir",
        "save_dir",
        "save",
        "checkpoint_dir",
        "ckpt_dir",
        "checkpoint_path",
        "save_path",
    }
)
_MAX_ENTRIES = 5000  # per folder: never crawl a whole dataset
LAYOUTS = {
    "lightning": "PyTorch Lightning",
    "huggingface": "Hugging Face Trainer",
    "deepspeed": "DeepSpeed",
    "torch.save": "torch.save files",
}


@dataclass
class Checkpoint:
    path: str  # resolved
    mtime: float
    size: int
    epoch: int | None
    step: int | None
    open_by_process: bool = False
    layout: str = "torch.save"  # a key of LAYOUTS


def is_checkpoint_name(name: str) -> bool:
    lower = name.lower()
    return lower.endswith(SUFFIXES) or lower.startswith(PREFIXES)


def parse_progress(name: str) -> tuple[int | None, int | None]:
    """(epoch, step) from a checkpoint name such as ``ckpt_epoch3_step1200.pt``."""
    stem = Path(name).name
    epoch = _EPOCH.search(stem)
    step = _STEP.search(stem) or _HF_STEP.match(stem)
    return (int(epoch.group(1)) if epoch else None, int(step.group(1)) if step else None)


def layout_of(path: Path) -> str:
    """Which framework's layout ``path`` (a resolved checkpoint) follows."""
    name = path.name.lower()
    if _HF_STEP.match(name):
        return "huggingface"
    if name.startswith("global_step"):
        return "deepspeed"
    if name.endswith(".ckpt") or (
        path.parent.name == "checkpoints" and path.parent.parent.name.startswith("version_")
    ):
        return "lightning"
    return "torch.save"


def _folder_totals(path: Path) -> tuple[int, float]:
    """Size and newest mtime of a checkpoint folder, two levels deep (HF holds DeepSpeed's)."""
    size, mtime = 0, path.stat().st_mtime
    pending = [(path, 1)]
    while pending:
        folder, depth = pending.pop()
        for entry in os.scandir(folder):
            if entry.is_file(follow_symlinks=False):
                info = entry.stat(follow_symlinks=False)
                size += info.st_size
                mtime = max(mtime, info.st_mtime)
            elif depth > 0 and entry.is_dir(follow_symlinks=False):
                pending.append((Path(entry.path), depth - 1))
    return size, mtime


def _describe(path: Path, open_paths: set[str]) -> Checkpoint | None:
    try:
        if path.is_dir():  # `checkpoint-500/`, `global_step500/`
            size, mtime = _folder_totals(path)
        else:
            st = path.stat()
            size, mtime = st.st_size, st.st_mtime
    except OSError:
        return None
    epoch, step = parse_progress(path.name)
    return Checkpoint(str(path), mtime, size, epoch, step, str(path) in open_paths, layout_of(path))


def _scan(folder: Path, depth: int, open_paths: set[str]) -> Iterable[Checkpoint]:
    try:
        entries = list(os.scandir(folder))[:_MAX_ENTRIES]
    except OSError:
        return
    in_container = str(folder).startswith("/proc/")  # never follow its symlinks to our root
    for entry in entries:
        is_dir = entry.is_dir(follow_symlinks=not in_container)
        # A folder is a checkpoint when named like one (`checkpoint-500/`, `global_step9/`,
        # DeepSpeed `x.ckpt/`); any other folder (`checkpoints/`) is searched.
        if _CHECKPOINT_DIR.search(entry.name) if is_dir else is_checkpoint_name(entry.name):
            found = _describe(_resolved(entry.path), open_paths)
            if found is not None:
                yield found
        elif depth > 0 and is_dir and not entry.is_symlink() and not entry.name.startswith("."):
            yield from _scan(Path(entry.path), depth - 1, open_paths)


def _resolved(path: str | Path) -> Path:
    if str(path).startswith("/proc/"):  # in a container's root: its symlinks mean its own root
        return Path(os.path.normpath(path))
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return Path(os.path.abspath(path))


def dirs_from_cmdline(cmdline: list[str], cwd: str | None) -> list[Path]:
    """Checkpoint folders named on a trainer's command line (``--output_dir out``,
    ``--trainer.callbacks.dirpath=ckpts``...), relative ones taken from the process's cwd."""
    found: list[Path] = []
    for i, arg in enumerate(cmdline):
        if not arg.startswith("-"):
            continue
        name, eq, value = arg.lstrip("-").partition("=")
        if name.replace("-", "_").rsplit(".", 1)[-1] not in _DIR_OPTIONS:
            continue
        if not eq:
            value = cmdline[i + 1] if i + 1 < len(cmdline) else ""
        if value and not value.startswith("-"):
            path = Path(value)
            found.append(path if path.is_absolute() or cwd is None else Path(cwd) / path)
    return found


def _plan(
    opened: set[str], cwd: str | None, extra: list[Path], named: list[Path]
) -> dict[Path, int]:
    """The folders to search and how deep, each resolved once."""
    plan: dict[Path, int] = {}

    def add(folder: Path, depth: int) -> None:
        key = _resolved(folder)
        if key == Path("/"):  # never crawl the whole disk
            return
        plan[key] = max(depth, plan.get(key, -1))
        for version in sorted(key.glob("lightning_logs/version_*/checkpoints"))[-20:]:
            plan.setdefault(_resolved(version), 0)

    for path in opened:
        add(Path(path).parent, 0)
    if cwd:
        add(Path(cwd), 1)
    for folder in named:
        add(folder, 1)
    for folder in extra:
        add(folder, 2)
    return plan


def find_checkpoints(
    open_files: list[str], cwd: str | None, extra_dirs: list[Path], named: list[Path] | None = None
) -> list[Checkpoint]:
    """Checkpoints next to the open checkpoint files, under the cwd (one level), in the folders
    ``named`` on the command line (one level) and ``extra_dirs`` (two levels), plus any
    ``lightning_logs/version_*/checkpoints`` below those. Sorted oldest first, each path once."""
    opened = {str(_resolved(p)) for p in open_files if is_checkpoint_name(Path(p).name)}
    found: dict[str, Checkpoint] = {}
    for folder, depth in _plan(opened, cwd, extra_dirs, named or []).items():
        for ckpt in _scan(folder, depth, opened):
            outer = _enclosing_folder(Path(ckpt.path))
            if outer is not None:  # a file of `checkpoint-500/`: the folder is the checkpoint
                ckpt = found.get(str(outer)) or _describe(outer, opened) or ckpt
            found[ckpt.path] = ckpt
    return sorted(found.values(), key=lambda c: c.mtime)


def _enclosing_folder(path: Path) -> Path | None:
    """The checkpoint folder (``checkpoint-500/``, ``global_step9/``) ``path`` lies in, up to two
    levels up (HF holds DeepSpeed's), or None."""
    for parent in list(path.parents)[:2]:
        if _CHECKPOINT_DIR.search(parent.name):
            return parent
    return None


def cadence_s(checkpoints: list[Checkpoint], since: float | None = None) -> float | None:
    """Typical seconds between checkpoints (median gap of the last ten), None with fewer than two.

    With ``since`` (the process start), only checkpoints written after it count: older ones were
    written by an earlier run, at an unknown pace.
    """
    times = sorted(c.mtime for c in checkpoints if since is None or c.mtime >= since)
    recent = times[-11:]
    gaps = [b - a for a, b in itertools.pairwise(recent) if b - a > 0.05]
    return statistics.median(gaps) if gaps else None
