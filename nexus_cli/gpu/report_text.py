"""The text layout of ``nexus gpu impact`` (the seed's "Process Impact Analysis")."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

from nexus_cli.gpu.checkpoints import LAYOUTS
from nexus_cli.gpu.report import ImpactReport, written_by_this_run
from nexus_cli.gpu.units import NA, WIDTH, clip, clip_left, duration, number, size
from nexus_cli.plural import plural
from nexus_cli.terminal import escape

RULE = "=" * 60


def _state(r: ImpactReport) -> list[str]:
    p = r.process
    expected = r.estimated_total_s()
    estimate = f"estimated {duration(expected)} total, " if expected else ""
    lines = [
        "Current State:",
        f"  Runtime: {duration(p.runtime_s)} ({estimate}started {_clock(p.create_time)})",
    ]
    lines.append(f"  Status: {p.status}, user {escape(p.user or NA, newlines=False)}")
    if p.namespace == "other":
        where = f"container {p.container_id}" if p.container_id else "another PID namespace"
        inner = f", PID {p.inner_pid} inside" if p.inner_pid is not None else ""
        lines.append(f"  Runs in {where}{inner}")
    if r.progress is not None:
        pr = r.progress
        parts = []
        if pr.epoch is not None:
            total = f"/{pr.total_epochs}" if pr.total_epochs else ""
            pct = f" ({pr.percent:.0f}% complete)" if pr.percent is not None else ""
            parts.append(f"epoch {pr.epoch}{total}{pct}")
        if pr.step is not None:
            parts.append(f"step {pr.step}")
        source = "newest checkpoint's name"
        if not pr.from_this_run:
            source += ", written by an earlier run"
        lines.extend(
            textwrap.wrap(
                f"Progress: {', '.join(parts)} ({source})",
                WIDTH,
                initial_indent="  ",
                subsequent_indent="    ",
            )
        )
    return lines


def _clock(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))


def _resources(r: ImpactReport) -> list[str]:
    count = 1 + len(r.process.children)
    lines = [
        "Resources (process and children):",
        f"  CPU: {number(r.cpu_percent, '%', 1)} over {plural(count, 'process', 'processes')}",
        f"  RAM: {size(r.rss_bytes)} resident",
    ]
    if not r.gpu_available:
        lines.append(f"  GPU: {r.gpu_note}")
    elif not r.gpus:
        lines.append("  GPU: none used by this process tree")
    for g in r.gpus:
        lines.append(
            f"  GPU {g.index}: {number(g.utilization_pct, '%')} util"
            f" (SM {number(g.sm_util_pct, '%')} by this process), {size(g.memory_used)} VRAM,"
            f" {number(g.temperature_c, '°C')}"
        )
    return lines


def _checkpoints(r: ImpactReport) -> list[str]:
    c = r.newest_checkpoint
    if c is None:
        return ["Checkpoints:", "  none found (open files, working directory, --checkpoint-dir)"]
    notes = [f"epoch {c.epoch}"] if c.epoch is not None else []
    if not written_by_this_run(r.process, c):
        notes.append("from an earlier run")
    note = f" ({', '.join(notes)})" if notes else ""
    found = f"{r.checkpoints_found}"
    if r.checkpoints_from_earlier_run:
        found += f" ({r.checkpoints_from_earlier_run} from an earlier run)"
    layouts = ", ".join(LAYOUTS.get(x, x) for x in r.checkpoint_layouts)
    lines = [
        "Checkpoints:",
        f"  Last saved: {duration(r.checkpoint_age_s)} ago{note}",
        f"  Location: {clip_left(escape(_short(c.path), newlines=False), WIDTH - 12)}",
        f"  Size: {size(c.size)}" + (" (still open by the process)" if c.open_by_process else ""),
        f"  Found: {found}, layout: {layouts}",
    ]
    if r.cadence_s is None:
        lines.append("  Cadence: unknown (fewer than two checkpoints written by this run)")
    else:
        lines.append(f"  Cadence: about every {duration(r.cadence_s)} (this run)")
        if r.next_checkpoint_in_s is not None and r.next_checkpoint_in_s > 0:
            lines.append(f"  Next checkpoint in about {duration(r.next_checkpoint_in_s)}")
    return lines


def _short(path: str) -> str:
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


def _if_killed(r: ImpactReport) -> list[str]:
    w = r.work_lost
    lines = ["If Killed Now:", f"  [!] Work lost: {duration(w.seconds)} (since the {w.since})"]
    if w.gpu_hours is not None and w.gpus:
        lines.append(
            f"  [!] GPU-hours wasted: {w.gpu_hours:.2f} ({w.gpus} GPUs x {duration(w.seconds)})"
        )
    if r.newest_checkpoint is not None:
        name = escape(Path(r.newest_checkpoint.path).name, newlines=False)
        lines.append(f"  [ok] Recovery possible from {clip_left(name, WIDTH - 31)}")
    return lines


def _children(r: ImpactReport) -> list[str]:
    if not r.process.children:
        return ["Child Processes: none"]
    lines = ["Child Processes (will also terminate):"]
    for c in r.process.children:
        lead = f"  - {c.role or 'process'} (PID {c.pid}): "
        lines.append(lead + clip(escape(c.command, newlines=False), WIDTH - len(lead)))
    return lines


def _distributed(r: ImpactReport) -> list[str]:
    d = r.distributed
    if d is None:
        note = "" if r.environment_readable else " (environment not readable)"
        return [f"Distributed Training: not detected{note}"]
    role = "master" if d.is_master else "worker"
    lines = ["Distributed Training Impact:"]
    lines.append(f"  - This is rank {d.rank if d.rank is not None else NA} ({role})")
    lines.append(f"  - World size {d.world_size or NA}, master {d.master_addr or NA}")
    if d.launcher:
        lines.append(f"  - Launched by {d.launcher}")
    if d.world_size and d.world_size > 1:
        lines.append(
            f"  - {d.world_size - 1} other ranks will fail or hang on their next collective"
        )
    if r.work_lost.cluster_gpu_hours is not None:
        lines.append(f"  - Total cluster waste: {r.work_lost.cluster_gpu_hours:.2f} GPU-hours")
    return lines


def _recommendations(r: ImpactReport) -> list[str]:
    """Each recommendation wrapped to the report's width, continuation lines indented."""
    lines: list[str] = []
    for x in r.recommendations:
        lines.extend(
            textwrap.wrap(
                f"[{x['key']}] {x['text']}",
                WIDTH,
                initial_indent="  ",
                subsequent_indent="      ",
                break_on_hyphens=False,
            )
        )
    return lines


def impact_lines(r: ImpactReport) -> list[str]:
    lead = f"Process Impact Analysis - PID: {r.process.pid} ("
    command = clip(escape(r.process.command, newlines=False), WIDTH - len(lead) - 1)
    head = f"{lead}{command})"
    sections = [
        _state(r),
        _resources(r),
        _checkpoints(r),
        _if_killed(r),
        _children(r),
        _distributed(r),
        ["Recommendations:", *_recommendations(r)],
    ]
    lines = [head, RULE]
    for section in sections:
        lines.extend([*section, ""])
    return lines[:-1]


def panel_lines(r: ImpactReport) -> list[str]:
    """The short form of the report for the monitor's side panel: what would be lost, and when
    the next checkpoint comes."""
    p, w = r.process, r.work_lost
    lines = [
        clip(escape(p.command, newlines=False), 48),
        f"user {escape(p.user or NA, newlines=False)}, running {duration(p.runtime_s)}",
        f"children: {len(p.children)}",
        "",
        f"Work lost if killed: {duration(w.seconds)} (since the {w.since})",
    ]
    if w.gpu_hours is not None and w.gpus:
        lines.append(f"GPU-hours wasted: {w.gpu_hours:.2f} on {w.gpus} GPUs")
    c = r.newest_checkpoint
    if c is None:
        lines.append("Last checkpoint: none found")
    else:
        earlier = " (earlier run)" if not written_by_this_run(p, c) else ""
        lines.append(f"Last checkpoint: {duration(r.checkpoint_age_s)} ago{earlier}")
        lines.append(f"  {escape(Path(c.path).name, newlines=False)}")
    if r.next_checkpoint_in_s is not None and r.next_checkpoint_in_s > 0:
        lines.append(f"Next checkpoint: in about {duration(r.next_checkpoint_in_s)}")
    elif r.next_checkpoint_in_s is not None:
        lines.append("Next checkpoint: due now")
    else:
        lines.append("Next checkpoint: unknown (cadence not measured yet)")
    if r.distributed is not None and r.distributed.world_size:
        lines.append(f"Distributed: rank {r.distributed.rank}, world {r.distributed.world_size}")
    lines.append("")
    lines.extend(f"[{x['key']}] {x['text']}" for x in r.recommendations)
    return lines
