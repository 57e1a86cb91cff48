"""`nexus gpu`: GPU status, processes, a live monitor, and process-impact analysis."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import click

from nexus_cli.commands.options import confirm, yes_option
from nexus_cli.gpu import guards, nvml
from nexus_cli.gpu.actions import perform
from nexus_cli.gpu.impact import impact_report
from nexus_cli.gpu.monitor import (
    DEVICE_COLUMNS,
    PROCESS_COLUMNS,
    Poller,
    device_rows,
    process_rows,
    render,
)
from nexus_cli.gpu.monitor_app import MonitorApp
from nexus_cli.gpu.report_text import impact_lines
from nexus_cli.gpu.status import read_processes, read_status
from nexus_cli.gpu.units import NA, duration, number, size
from nexus_cli.jsonio import dumps_output
from nexus_cli.lazy import NexusGroup
from nexus_cli.output import console, emit_json, json_option, print_table, stdout_is_tty
from nexus_cli.telemetry.journal import invocation
from nexus_cli.terminal import escape
from nexus_cli.timefmt import rfc3339

if TYPE_CHECKING:
    from nexus_cli.gpu.monitor import Snapshot
    from nexus_cli.gpu.status import GpuStatus, ProcessRow


@click.group(cls=NexusGroup)
def gpu() -> None:
    """GPU status, processes, a live monitor, and "what do I lose if I kill this now?"."""


def _status_row(entry: GpuStatus) -> tuple[str, ...]:
    g = entry.gpu
    return (
        g.index + (" (MIG)" if g.is_mig else ""),
        g.name or NA,
        g.uuid or NA,
        number(g.utilization_pct, "%"),
        f"{size(g.memory_used)} / {size(g.memory_total)}",
        number(g.temperature_c, "°C"),
        f"{number(g.power_draw_w, ' W')} / {number(g.power_limit_w, ' W')}",
        ", ".join(str(p.pid) for p in entry.processes) or "-",
    )


@gpu.command()
@json_option
def status(as_json: bool) -> None:
    """Each GPU (and MIG device): utilization, memory, temperature, power and its processes."""
    invocation.note(event_type="gpu")
    with nvml.opened() as session:
        gpus = read_status(session)
        driver = session.driver_version
    invocation.metric("gpu_count", len(gpus))
    if as_json:
        emit_json({"driver_version": driver, "gpus": [g.to_dict() for g in gpus]})
        return
    rows = [_status_row(s) for s in gpus]
    columns = ("gpu", "name", "uuid", "util", "memory", "temp", "power", "processes")
    print_table(columns, rows, title=f"NVIDIA driver {driver or NA}", empty="no GPUs found")


@gpu.command()
@json_option
def processes(as_json: bool) -> None:
    """Every GPU process: user, PID, GPU, GPU memory, SM%, CPU%, RAM, runtime and command."""
    invocation.note(event_type="gpu")
    with nvml.opened() as session:
        rows = read_processes(session)
    if as_json:
        emit_json({"processes": rows})
        return
    table = [
        (
            escape(r.user or "?", newlines=False),
            r.pid,
            r.gpu_index,
            size(r.used_memory),
            number(r.sm_util_pct, "%"),
            number(r.cpu_percent, "%", 1),
            size(r.rss_bytes),
            duration(r.runtime_s),
            _command_cell(r),
        )
        for r in rows
    ]
    columns = ("user", "pid", "gpu", "gpu mem", "sm", "cpu", "ram", "runtime", "command")
    print_table(columns, table, empty="no GPU processes")


def _command_cell(row: ProcessRow) -> str:
    """The command column: the command, where it runs, or why it cannot be seen."""
    if row.namespace == "not visible":
        return f"({row.note})"
    command = escape((row.command or "")[:60], newlines=False)
    if row.namespace == "other":
        where = f"container {row.container_id}" if row.container_id else "another PID namespace"
        inner = f", PID {row.inner_pid} inside" if row.inner_pid is not None else ""
        return f"[{where}{inner}] {command}"
    return command


def _print_plain(snap: Snapshot) -> None:
    print_table(DEVICE_COLUMNS, device_rows(snap), title="GPUs", empty="no GPUs found")
    # `empty=`: also keeps print_table's plain path away from an empty row list.
    print_table(PROCESS_COLUMNS, process_rows(snap), title="Processes", empty="no GPU processes")


def _print_frames(poller: Poller, interval: float, once: bool) -> None:
    """Frames printed one after another: `--once`, or when stdout is not a terminal."""
    while True:
        snap = poller.snapshot()
        if stdout_is_tty():
            console().print(render(snap))
        else:
            _print_plain(snap)
        if once:
            return
        time.sleep(interval)


def _print_json_frames(poller: Poller, interval: float, once: bool) -> None:
    """One JSON document per frame (one line each), for scripts."""
    while True:
        snap = poller.snapshot()
        frame = {
            "time": rfc3339(time.time()),
            "devices": [asdict(d) for d in snap.devices],
            "processes": [
                {
                    **asdict(p),
                    "name": snap.names.get(p.pid),
                    "sm_util_pct": snap.sm_util.get(g, {}).get(p.pid),
                }
                for g, plist in snap.processes.items()
                for p in plist
            ],
        }
        click.echo(dumps_output(frame, indent=None))
        if once:
            return
        time.sleep(interval)


def _live(poller: Poller, interval: float) -> None:
    from rich.live import Live

    with Live(render(poller.snapshot()), console=console(), auto_refresh=False) as live:
        while True:
            time.sleep(interval)
            live.update(render(poller.snapshot()), refresh=True)


@gpu.command()
@click.option(
    "--interval",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0.1, 3600),
    help="Seconds between refreshes.",
)
@click.option("--once", is_flag=True, help="Print one frame and exit.")
@json_option
def monitor(interval: float, once: bool, as_json: bool) -> None:
    """A live view of GPUs and their processes. On a terminal it is interactive: sort (s), filter
    (/), inspect a process's impact (Enter), graceful/suspend/resume/kill (g/p/r/K, confirmed),
    quit (q). Piped, with --once or --json it prints frames. Polls NVML in-process."""
    invocation.note(event_type="gpu")
    with nvml.opened() as session:
        poller = Poller(session)
        try:
            if as_json:
                _print_json_frames(poller, interval, once)
            elif once or not stdout_is_tty():
                _print_frames(poller, interval, once)
            elif sys.stdin.isatty():
                MonitorApp(session, interval).run(console())
            else:
                _live(poller, interval)
        except KeyboardInterrupt:
            return  # Ctrl-C is how a monitor ends


def _act(
    pid: int, action: str, create_time: float, yes: bool, summary: str, force: bool
) -> dict[str, object]:
    confirm(f"{summary} Proceed?", yes=yes)
    result = perform(pid, action, create_time, force_other_user=force)
    invocation.signal("gpu_action", action=action, signal=result.signal, pids=len(result.pids))
    for note in result.skipped:
        click.echo(note, err=True)
    click.echo(f"sent {result.signal} to {', '.join(map(str, result.pids))}", err=True)
    return {
        "action": result.action,
        "signal": result.signal,
        "pids": result.pids,
        "skipped": result.skipped,
    }


@gpu.command()
@click.argument("pid", type=click.IntRange(1, guards.PID_MAX))
@json_option
@click.option(
    "--checkpoint-dir",
    "checkpoint_dirs",
    multiple=True,
    metavar="DIR",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Also look for checkpoints here (repeatable).",
)
@click.option(
    "--action",
    type=click.Choice(["graceful", "suspend", "resume", "kill"]),
    help="After the analysis, send this to the process (asks first).",
)
@yes_option
@click.option(
    "--expect-create-time",
    type=float,
    metavar="EPOCH",
    help="Refuse the action unless the process's create time is this (from --json).",
)
@click.option(
    "--force-other-user",
    is_flag=True,
    help="As root, allow --action on another user's process (unsafe; refused otherwise).",
)
def impact(
    pid: int,
    as_json: bool,
    checkpoint_dirs: tuple[Path, ...],
    action: str | None,
    yes: bool,
    expect_create_time: float | None,
    force_other_user: bool,
) -> None:
    """What would be lost if PID were killed now: runtime, resources, checkpoints, children,
    distributed ranks, and what to do instead."""
    invocation.note(event_type="gpu")
    if action is not None:  # refuse before analysing, asking or signalling anything
        guards.check(pid, os.getuid(), force_other_user=force_other_user)
    report = impact_report(pid, list(checkpoint_dirs))
    data = report.to_dict()
    if not as_json:
        click.echo("\n".join(impact_lines(report)))
    if action is not None:
        create_time = (
            report.process.create_time if expect_create_time is None else expect_create_time
        )
        kids = len(report.process.children)
        summary = (
            f"{action}: PID {pid} ({escape(report.process.name, newlines=False)}, {kids} children)."
        )
        data["action_result"] = _act(pid, action, create_time, yes, summary, force_other_user)
    if as_json:
        emit_json(data)
