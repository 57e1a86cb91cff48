"""`nexus gpu`: GPU status, processes, a live monitor, and process-impact analysis."""

from __future__ import annotations

import os
import sys
import textwrap
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import click

from nexus_cli.commands.options import (
    FiniteRange,
    checkpoint_dirs_option,
    confirm,
    expect_create_time_option,
    yes_option,
)
from nexus_cli.gpu import accounting, ghosts, guards, nvml
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
from nexus_cli.gpu.units import NA, WIDTH, clip, duration, number, parse_seconds, size
from nexus_cli.jsonio import dumps_output
from nexus_cli.lazy import NexusGroup
from nexus_cli.output import console, emit_json, json_option, print_table, stdout_is_tty
from nexus_cli.plural import plural
from nexus_cli.telemetry.journal import invocation
from nexus_cli.terminal import escape
from nexus_cli.timefmt import rfc3339

if TYPE_CHECKING:
    from nexus_cli.gpu.ghosts import Ghost
    from nexus_cli.gpu.monitor import Snapshot
    from nexus_cli.gpu.status import GpuStatus, ProcessRow


MORE = {
    "stop": (
        "nexus_cli.commands.gpu_stop:stop_command",
        "Stop a training run's process group, now or right after its next complete checkpoint.",
    ),
    "wait": (
        "nexus_cli.commands.gpu_wait:wait_command",
        "Wait until N GPUs are free, then run CMD on them (CUDA_VISIBLE_DEVICES by UUID).",
    ),
    "pick": (
        "nexus_cli.commands.gpu_wait:pick_command",
        "Print the UUIDs of the best free GPUs, one a line, for scripts (reserves nothing).",
    ),
}


@click.group(cls=NexusGroup, lazy_subcommands=MORE, shorten_lazy_help=True)
def gpu() -> None:
    """GPU status, processes, a live monitor, and "what do I lose if I kill this now?"."""


def _status_row(entry: GpuStatus, marks: dict[int, str]) -> tuple[str, ...]:
    g = entry.gpu
    return (
        g.index + (" (MIG)" if g.is_mig else ""),
        g.name or NA,
        g.uuid or NA,
        number(g.utilization_pct, "%"),
        f"{size(g.memory_used)} / {size(g.memory_total)}",
        number(g.temperature_c, "°C"),
        f"{number(g.power_draw_w, ' W')} / {number(g.power_limit_w, ' W')}",
        ", ".join(_pid_cell(p.pid, marks) for p in entry.processes) or "-",
    )


def _idle_after(_ctx: click.Context, _param: click.Parameter, value: str) -> float:
    seconds = parse_seconds(value)
    if seconds is None:
        raise click.BadParameter(f"{value!r} is not a duration such as 90s, 15m or 2h")
    return seconds


idle_after_option = click.option(
    "--idle-after",
    default="30m",
    show_default=True,
    metavar="DURATION",
    callback=_idle_after,
    help="Flag a process seen at 0% SM for this long (learnt from earlier readings).",
)


def _pid_cell(pid: int, marks: dict[int, str]) -> str:
    return f"{pid} ({marks[pid]})" if pid in marks else str(pid)


@gpu.command()
@idle_after_option
@json_option
def status(idle_after: float, as_json: bool) -> None:
    """Each GPU (and MIG device): utilization, memory, temperature, power and its processes;
    memory held by gone, zombie, stopped or idle processes is flagged."""
    invocation.note(event_type="gpu")
    with nvml.opened() as session:
        gpus = read_status(session)
        driver = session.driver_version
        found: list[Ghost] = []
        if any(g.processes for g in gpus):
            found = ghosts.find_and_remember(session, idle_after)
            accounting.record([g.gpu for g in gpus], {g.gpu.index: g.processes for g in gpus})
    invocation.metric("gpu_count", len(gpus))
    if as_json:
        emit_json(
            {
                "driver_version": driver,
                "gpus": [g.to_dict() for g in gpus],
                "ghosts": [g.to_dict() for g in found],
            }
        )
        return
    marks = ghosts.flags(found)
    rows = [_status_row(s, marks) for s in gpus]
    columns = ("gpu", "name", "uuid", "util", "memory", "temp", "power", "processes")
    print_table(columns, rows, title=f"NVIDIA driver {driver or NA}", empty="no GPUs found")
    if found:
        held = size(sum(g.used_memory or 0 for g in found))
        click.echo(
            f"{plural(len(found), 'process', 'processes')} hold {held} of GPU memory"
            " while gone, zombie, stopped or idle: see `nexus gpu ghosts`"
        )


def _ghost_lines(found: list[Ghost]) -> list[str]:
    lines: list[str] = []
    for g in found:
        kind = f"idle {duration(g.idle_s)}" if g.kind == "idle" else g.kind
        head = f"GPU {g.gpu_index}  PID {g.pid}  {kind}  {size(g.used_memory)}"
        command = escape(g.command or "", newlines=False)
        lines.append(head + (f"  {clip(command, WIDTH - len(head) - 2)}" if command else ""))
        if g.parent_pid and g.kind == "zombie":
            parent = escape(g.parent_command or "?", newlines=False)
            lead = f"  parent PID {g.parent_pid}: "
            lines.append(lead + clip(parent, WIDTH - len(lead)))
        lines.extend(
            textwrap.wrap(
                g.action,
                WIDTH,
                initial_indent="  -> ",
                subsequent_indent="     ",
                break_on_hyphens=False,
            )
        )
    return lines


@gpu.command("ghosts")
@idle_after_option
@json_option
def ghosts_command(idle_after: float, as_json: bool) -> None:
    """List GPU memory held by gone, zombie, stopped, paused-container or idle processes, and
    what can be done about each (which process, parent or container to stop). Sends nothing."""
    invocation.note(event_type="gpu")
    with nvml.opened() as session:
        found = ghosts.find_and_remember(session, idle_after)
    invocation.metric("gpu_ghosts", len(found))
    if as_json:
        emit_json({"idle_after_s": idle_after, "ghosts": [g.to_dict() for g in found]})
        return
    if not found:
        click.echo("no ghosts or idlers: every GPU process is alive and busy (as far as seen)")
        return
    click.echo("\n".join(_ghost_lines(found)))


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
    command = clip(escape(row.command or "", newlines=False), 60)
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
                    "flag": snap.flags.get(p.pid),
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
    type=FiniteRange(0.1, 3600),
    help="Seconds between refreshes.",
)
@click.option("--once", is_flag=True, help="Print one frame and exit.")
@idle_after_option
@json_option
def monitor(interval: float, once: bool, idle_after: float, as_json: bool) -> None:
    """A live view of GPUs and their processes. On a terminal it is interactive: sort (s), filter
    (/), inspect a process's impact (Enter), graceful/suspend/resume/kill (g/p/r/K, confirmed),
    quit (q). Piped, with --once or --json it prints frames. Polls NVML in-process. Processes
    that are gone, zombie, stopped or idle (this monitor's own readings) are flagged."""
    invocation.note(event_type="gpu")
    with nvml.opened() as session:
        poller = Poller(session, idle_after)
        try:
            if as_json:
                _print_json_frames(poller, interval, once)
            elif once or not stdout_is_tty():
                _print_frames(poller, interval, once)
            elif sys.stdin.isatty():
                MonitorApp(session, interval, idle_after).run(console())
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
@checkpoint_dirs_option("Also look for checkpoints here (repeatable).")
@click.option(
    "--action",
    type=click.Choice(["graceful", "suspend", "resume", "kill"]),
    help="After the analysis, send this to the process (asks first).",
)
@yes_option
@expect_create_time_option(
    "Refuse the action unless the process's create time is this (from --json)."
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
