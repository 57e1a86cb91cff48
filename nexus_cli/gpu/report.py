"""What an impact report holds: the process, its GPUs, checkpoints, progress and the work lost.

:mod:`nexus_cli.gpu.impact` fills it in, :mod:`nexus_cli.gpu.advice` recommends from it and
:mod:`nexus_cli.gpu.report_text` draws it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from nexus_cli.gpu import checkpoints as ckpt
from nexus_cli.gpu import procinfo
from nexus_cli.timefmt import rfc3339


@dataclass
class GpuUse:
    index: str
    name: str | None
    memory_used: int | None
    utilization_pct: int | None
    sm_util_pct: int | None
    temperature_c: int | None
    pids: list[int]


@dataclass
class Distributed:
    rank: int | None
    local_rank: int | None
    world_size: int | None
    master_addr: str | None
    launcher: str | None

    @property
    def is_master(self) -> bool:
        return self.rank == 0


@dataclass
class Progress:
    epoch: int | None
    step: int | None
    total_epochs: int | None
    from_this_run: bool = True  # False: read from a checkpoint an earlier run wrote

    @property
    def percent(self) -> float | None:
        if self.epoch is None or not self.total_epochs:
            return None
        return round(100.0 * min(self.epoch, self.total_epochs) / self.total_epochs, 1)


@dataclass
class WorkLost:
    seconds: float
    since: str  # "last checkpoint" or "process start"
    gpus: int | None
    gpu_hours: float | None
    world_size: int
    cluster_gpu_hours: float | None


@dataclass
class ImpactReport:
    process: procinfo.ProcessFacts
    cpu_percent: float | None
    rss_bytes: int
    gpu_available: bool
    gpu_note: str | None
    gpus: list[GpuUse]
    checkpoints_found: int
    checkpoints_from_earlier_run: int
    checkpoint_layouts: list[str]
    newest_checkpoint: ckpt.Checkpoint | None
    checkpoint_age_s: float | None
    cadence_s: float | None
    next_checkpoint_in_s: float | None
    progress: Progress | None
    work_lost: WorkLost
    distributed: Distributed | None
    environment_readable: bool
    handlers: dict[str, bool]
    graceful_signal: str
    recommendations: list[dict[str, str]] = field(default_factory=list)

    def estimated_total_s(self) -> float | None:
        """Runtime scaled by the progress percentage, when this run's progress is known."""
        if self.progress is None or not self.progress.from_this_run:
            return None  # an earlier run's epoch says nothing about this run's pace
        percent = self.progress.percent
        if not percent:
            return None
        return round(self.process.runtime_s * 100.0 / percent, 1)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["estimated_total_s"] = self.estimated_total_s()
        if self.progress is not None:
            data["progress"]["percent"] = self.progress.percent
        if self.distributed is not None:
            data["distributed"]["is_master"] = self.distributed.is_master
        _add_started_at(data["process"])
        if data["newest_checkpoint"] is not None:  # RFC 3339, as every time in --json
            data["newest_checkpoint"]["modified_at"] = rfc3339(
                data["newest_checkpoint"].pop("mtime")
            )
        return data


def _add_started_at(process: dict[str, Any]) -> None:
    """``started_at`` (RFC 3339) beside ``create_time``, the epoch seconds that identify the
    process for ``--expect-create-time``; the same for every child."""
    process["started_at"] = rfc3339(process["create_time"])
    for child in process.get("children", []):
        _add_started_at(child)


# A process's start time comes from /proc (the boot time, in whole seconds, plus clock ticks), and
# a file's mtime from the file system's coarse clock: they can disagree by up to about a second.
# A checkpoint written this close to the start belongs to this run, not to an earlier one.
START_SLACK_S = 1.0


def written_by_this_run(proc: procinfo.ProcessFacts, checkpoint: ckpt.Checkpoint) -> bool:
    """Whether ``checkpoint`` was written by this run of ``proc`` (not by an earlier one)."""
    return checkpoint.mtime >= proc.create_time - START_SLACK_S
