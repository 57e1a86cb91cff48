"""The impact report's data: its derived values, its JSON form, which checkpoints are this run's."""

from __future__ import annotations

from nexus_cli.gpu.checkpoints import Checkpoint
from nexus_cli.gpu.procinfo import ProcessFacts
from nexus_cli.gpu.report import (
    START_SLACK_S,
    Distributed,
    ImpactReport,
    Progress,
    WorkLost,
    written_by_this_run,
)
from nexus_cli.timefmt import rfc3339

STARTED = 1_700_000_000.0


def _process(children: list[ProcessFacts] | None = None, pid: int = 100) -> ProcessFacts:
    return ProcessFacts(
        pid=pid,
        create_time=STARTED,
        user="me",
        uid=1000,
        command="python train.py",
        cmdline=["python", "train.py"],
        name="python",
        runtime_s=600.0,
        rss_bytes=1024,
        status="running",
        namespace="same",
        children=children or [],
    )


def _report(
    progress: Progress | None = None,
    newest: Checkpoint | None = None,
    distributed: Distributed | None = None,
) -> ImpactReport:
    return ImpactReport(
        process=_process([_process(pid=101)]),
        cpu_percent=None,
        rss_bytes=2048,
        gpu_available=False,
        gpu_note=None,
        gpus=[],
        checkpoints_found=0 if newest is None else 1,
        checkpoints_from_earlier_run=0,
        checkpoint_layouts=[],
        newest_checkpoint=newest,
        checkpoint_age_s=None,
        cadence_s=None,
        next_checkpoint_in_s=None,
        progress=progress,
        work_lost=WorkLost(600.0, "process start", None, None, 1, None),
        distributed=distributed,
        environment_readable=True,
        handlers={"SIGTERM": False},
        graceful_signal="SIGTERM",
    )


def test_progress_percent_needs_an_epoch_and_a_total_and_caps_at_100() -> None:
    assert Progress(epoch=15, step=None, total_epochs=60).percent == 25.0
    assert Progress(epoch=90, step=None, total_epochs=60).percent == 100.0
    assert Progress(epoch=None, step=7, total_epochs=60).percent is None
    assert Progress(epoch=3, step=None, total_epochs=None).percent is None


def test_estimated_total_scales_this_runs_runtime_only() -> None:
    assert _report(Progress(15, None, 60)).estimated_total_s() == 2400.0
    assert _report(Progress(15, None, 60, from_this_run=False)).estimated_total_s() is None
    assert _report(Progress(0, None, 60)).estimated_total_s() is None
    assert _report().estimated_total_s() is None


def test_to_dict_adds_derived_values_and_rfc3339_times() -> None:
    newest = Checkpoint("/ckpt/epoch_15.pt", STARTED + 300, 10, 15, None)
    dist = Distributed(rank=0, local_rank=0, world_size=4, master_addr="10.0.0.1", launcher=None)
    data = _report(Progress(15, None, 60), newest, dist).to_dict()
    assert data["estimated_total_s"] == 2400.0
    assert data["progress"]["percent"] == 25.0
    assert data["distributed"]["is_master"] is True
    assert data["process"]["started_at"] == rfc3339(STARTED)
    assert data["process"]["children"][0]["started_at"] == rfc3339(STARTED)
    assert "mtime" not in data["newest_checkpoint"]
    assert data["newest_checkpoint"]["modified_at"] == rfc3339(STARTED + 300)


def test_a_checkpoint_belongs_to_this_run_within_the_start_slack() -> None:
    proc = _process()

    def at(mtime: float) -> Checkpoint:
        return Checkpoint("/ckpt/x.pt", mtime, 1, None, None)

    assert written_by_this_run(proc, at(STARTED + 5))
    assert written_by_this_run(proc, at(STARTED - START_SLACK_S))
    assert not written_by_this_run(proc, at(STARTED - START_SLACK_S - 0.5))
