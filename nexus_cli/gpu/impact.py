"""Process impact analysis: what is lost if this process is killed now?

Combines the process tree (psutil), its checkpoints (open files, cwd, ``--checkpoint-dir``), its
environment (distributed training) and, when NVML is available, its GPU memory and utilization.
"""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

from nexus_cli.errors import UsageError
from nexus_cli.gpu import checkpoints as ckpt
from nexus_cli.gpu import nvml, procinfo
from nexus_cli.gpu.advice import recommend
from nexus_cli.gpu.containers import host_path
from nexus_cli.gpu.model import GpuUnavailableError, NvmlSession, attribution_devices
from nexus_cli.gpu.report import (
    START_SLACK_S,
    Distributed,
    GpuUse,
    ImpactReport,
    Progress,
    WorkLost,
    written_by_this_run,
)
from nexus_cli.telemetry.journal import invocation

_TOTAL_EPOCHS = re.compile(r"^--?(?:max[_-]?epochs|num[_-]?epochs|epochs|n[_-]?epochs)(?:=(\d+))?$")
_LAUNCHERS = (
    ("torchrun", "torchrun"),
    ("torch.distributed.run", "torchrun"),
    ("torch.distributed.launch", "torch.distributed.launch"),
    ("deepspeed", "deepspeed"),
    ("accelerate", "accelerate"),
)


def graceful_signal(pid: int) -> int:
    """SIGUSR1 when the process has a handler for it (it asked for it), SIGTERM otherwise."""
    return signal.SIGUSR1 if signal.SIGUSR1 in procinfo.caught_signals(pid) else signal.SIGTERM


def detect_distributed(pid: int, env: dict[str, str] | None) -> Distributed | None:
    env = env or {}
    launcher = "torchelastic" if "TORCHELASTIC_RUN_ID" in env else None
    for cmdline in procinfo.ancestors_cmdlines(pid):
        for needle, label in _LAUNCHERS:
            if needle in cmdline:
                launcher = launcher or label
    world = _int(env.get("WORLD_SIZE"))
    if (world is None or world <= 1) and launcher is None and "RANK" not in env:
        return None
    return Distributed(
        _int(env.get("RANK")),
        _int(env.get("LOCAL_RANK")),
        world,
        env.get("MASTER_ADDR"),
        launcher,
    )


def _int(text: str | None) -> int | None:
    try:
        return None if text is None else int(text)
    except ValueError:
        return None


def total_epochs(cmdline: list[str]) -> int | None:
    """``--epochs 60`` / ``--max-epochs=60`` and friends from the command line."""
    for i, arg in enumerate(cmdline):
        match = _TOTAL_EPOCHS.match(arg)
        if match:
            value = match.group(1) or (cmdline[i + 1] if i + 1 < len(cmdline) else None)
            return _int(value)
    return None


def gpu_use(session: NvmlSession, pids: set[int]) -> list[GpuUse]:
    """The GPUs on which any of ``pids`` runs, with the memory those PIDs hold there."""
    used: list[GpuUse] = []
    for dev in attribution_devices(session.read_devices()):
        mine = [p for p in session.read_processes(dev.index) if p.pid in pids]
        if not mine:
            continue
        sm = session.read_process_utilization(dev.index)
        sm_values = [sm[p.pid] for p in mine if p.pid in sm]
        memory = [p.used_memory for p in mine if p.used_memory is not None]
        used.append(
            GpuUse(
                dev.index,
                dev.name,
                sum(memory) if memory else None,
                dev.utilization_pct,
                max(sm_values) if sm_values else None,
                dev.temperature_c,
                sorted(p.pid for p in mine),
            )
        )
    return used


def _work_lost(
    proc: procinfo.ProcessFacts,
    newest: ckpt.Checkpoint | None,
    gpus: list[GpuUse] | None,
    dist: Distributed | None,
) -> WorkLost:
    now = time.time()
    saved = newest is not None and written_by_this_run(proc, newest)
    seconds = now - (newest.mtime if saved and newest else proc.create_time)
    n_gpus = None if gpus is None else len(gpus)
    gpu_hours = None if n_gpus is None else round(seconds / 3600 * n_gpus, 4)
    world = dist.world_size if dist and dist.world_size and dist.world_size > 1 else 1
    cluster = None if gpu_hours is None else round(gpu_hours * world, 4)
    return WorkLost(
        round(seconds, 1),
        "last checkpoint" if saved else "process start",
        n_gpus,
        gpu_hours,
        world,
        cluster,
    )


def _progress(proc: procinfo.ProcessFacts, newest: ckpt.Checkpoint | None) -> Progress | None:
    """Progress from the newest checkpoint's name, marked when an earlier run wrote it."""
    if newest is None or (newest.epoch is None and newest.step is None):
        return None
    return Progress(
        newest.epoch,
        newest.step,
        total_epochs(proc.cmdline),
        from_this_run=written_by_this_run(proc, newest),
    )


def checkpoints_of(proc: procinfo.ProcessFacts, extra: list[Path]) -> list[ckpt.Checkpoint]:
    """The process's checkpoints; a containerised process's paths are read via /proc/PID/root."""
    pid = proc.pid
    named = [host_path(pid, str(p)) for p in ckpt.dirs_from_cmdline(proc.cmdline, proc.cwd)]
    return ckpt.find_checkpoints(
        [host_path(pid, p) for p in procinfo.open_paths(pid)],
        None if proc.cwd is None else host_path(pid, proc.cwd),
        extra,
        [Path(p) for p in named],
    )


def analyze(pid: int, checkpoint_dirs: list[Path], session: NvmlSession | None) -> ImpactReport:
    """The impact report for ``pid``; ``session`` None means GPU readings are unavailable."""
    proc = procinfo.describe_tree(pid)
    tree = [proc.pid, *(c.pid for c in proc.children)]
    cpu = procinfo.sample_cpu_percent(tree)
    for child in proc.children:
        child.cpu_percent = cpu.get(child.pid)
    proc.cpu_percent = cpu.get(proc.pid)
    gpus = None if session is None else gpu_use(session, set(tree))
    found = checkpoints_of(proc, checkpoint_dirs)
    earlier = sum(not written_by_this_run(proc, c) for c in found)
    newest = found[-1] if found else None
    cadence = ckpt.cadence_s(found, since=proc.create_time - START_SLACK_S)
    age = None if newest is None else max(0.0, time.time() - newest.mtime)
    next_in = None if cadence is None or age is None else cadence - age
    env = procinfo.environment(pid)
    dist = detect_distributed(pid, env)
    caught = procinfo.caught_signals(pid)
    report = ImpactReport(
        process=proc,
        cpu_percent=round(sum(cpu.values()), 1) if cpu else None,
        rss_bytes=sum(p.rss_bytes or 0 for p in [proc, *proc.children]),
        gpu_available=session is not None,
        gpu_note=None if session is not None else "GPU information unavailable (no NVIDIA driver)",
        gpus=gpus or [],
        checkpoints_found=len(found),
        checkpoints_from_earlier_run=earlier,
        checkpoint_layouts=sorted({c.layout for c in found}),
        newest_checkpoint=newest,
        checkpoint_age_s=None if age is None else round(age, 1),
        cadence_s=None if cadence is None else round(cadence, 2),
        next_checkpoint_in_s=None if next_in is None else round(next_in, 1),
        progress=_progress(proc, newest),
        work_lost=_work_lost(proc, newest, gpus, dist),
        distributed=dist,
        environment_readable=env is not None,
        handlers={
            procinfo.signal_name(s): s in caught
            for s in (signal.SIGUSR1, signal.SIGTERM, signal.SIGINT)
        },
        graceful_signal=procinfo.signal_name(graceful_signal(pid)),
    )
    report.recommendations = recommend(report)
    return report


def analyze_with_gpu(pid: int, checkpoint_dirs: list[Path]) -> ImpactReport:
    """:func:`analyze` with NVML when it is available, CPU-side only when it is not."""
    try:
        session = nvml.connect()
    except GpuUnavailableError as exc:
        report = analyze(pid, checkpoint_dirs, None)
        report.gpu_note = f"GPU information unavailable: {exc.message}"
        return report
    try:
        return analyze(pid, checkpoint_dirs, session)
    finally:
        session.close()


def impact_report(pid: int, checkpoint_dirs: list[Path] | None = None) -> ImpactReport:
    """``nexus gpu impact`` and the MCP tool ``gpu_impact``: the analysis, timed and recorded
    (no process names or paths, only counts), read-only: signal actions are the CLI's alone."""
    if pid <= 0:
        raise UsageError(f"pid must be a positive process id, not {pid}")
    invocation.note(event_type="gpu")
    started = time.perf_counter()
    report = analyze_with_gpu(pid, list(checkpoint_dirs or []))
    invocation.metric("impact_analysis_ms", (time.perf_counter() - started) * 1000)
    invocation.signal(
        "gpu_impact",
        gpu_available=report.gpu_available,
        gpus=len(report.gpus),
        children=len(report.process.children),
        checkpoints=report.checkpoints_found,
        distributed=report.distributed is not None,
    )
    return report
