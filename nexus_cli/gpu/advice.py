"""Recommendations of an impact report: [W]ait, [G]raceful stop, [S]uspend, [K]ill."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nexus_cli.gpu.units import duration

if TYPE_CHECKING:
    from nexus_cli.gpu.report import ImpactReport


def _lost(report: ImpactReport) -> str:
    lost = report.work_lost
    text = f"{duration(lost.seconds)} of work since the {lost.since}"
    if lost.cluster_gpu_hours is not None and lost.world_size > 1:
        text += f", {lost.cluster_gpu_hours:.2f} GPU-hours across {lost.world_size} ranks"
    elif lost.gpu_hours is not None:
        text += f", {lost.gpu_hours:.2f} GPU-hours"
    return text


def _wait(report: ImpactReport) -> str:
    if report.newest_checkpoint is None:
        return "no checkpoint found: nothing to wait for (pass --checkpoint-dir if they live elsewhere)"
    if report.next_checkpoint_in_s is None:
        return (
            "checkpoint cadence unknown (fewer than two checkpoints written by this run):"
            " watch for the next one"
        )
    if report.next_checkpoint_in_s <= 0:
        late = duration(-report.next_checkpoint_in_s)
        return f"next checkpoint is due now (overdue by {late}): re-run this in a moment"
    return f"wait about {duration(report.next_checkpoint_in_s)} for the next checkpoint"


def _graceful(report: ImpactReport) -> str:
    if report.graceful_signal == "SIGUSR1":
        return "send SIGUSR1: the process handles it (typically: save a checkpoint, then stop)"
    how = "it handles SIGTERM" if report.handlers.get("SIGTERM") else "no SIGTERM handler seen"
    return f"send SIGTERM so it can clean up ({how})"


def _suspend(report: ImpactReport) -> str:
    text = "SIGSTOP the process and its children; resume later with --action resume"
    if report.gpus:
        text += "; its GPU memory stays held while suspended"
    elif not report.gpu_available:
        text += "; any GPU memory it holds stays held while suspended"
    dist = report.distributed
    if dist is not None:
        others = f"{dist.world_size - 1} other ranks" if dist.world_size else "the other ranks"
        text += f"; {others} will block (and may time out) in their next collective"
    return text


def recommend(report: ImpactReport) -> list[dict[str, str]]:
    return [
        {"key": "W", "action": "wait", "text": _wait(report)},
        {"key": "G", "action": "graceful", "text": _graceful(report)},
        {"key": "S", "action": "suspend", "text": _suspend(report)},
        {"key": "K", "action": "kill", "text": f"SIGKILL now and lose {_lost(report)}"},
    ]
