"""`nexus gpu stop PID [--at-checkpoint]`: stop a run now, or right after its next checkpoint."""

from __future__ import annotations

from pathlib import Path

import click

from nexus_cli.commands import options as cli_options
from nexus_cli.commands.options import (
    FiniteRange,
    checkpoint_dirs_option,
    expect_create_time_option,
)
from nexus_cli.errors import UsageError
from nexus_cli.gpu import guards
from nexus_cli.gpu.stop import DEADLINE_EXIT, SIGNALS, StopOptions, signal_number, stop
from nexus_cli.gpu.units import duration, parse_seconds
from nexus_cli.output import emit_json, json_option
from nexus_cli.telemetry.journal import invocation
from nexus_cli.terminal import escape


def _ask(question: str) -> bool:
    """On a terminal, ask (default no); without one, give up."""
    if not cli_options.stdin_is_terminal():
        return False
    return click.confirm(question, default=False, err=True)


def _say(line: str) -> None:
    click.echo(line, err=True)


@click.command("stop")
@click.argument("pid", type=click.IntRange(1, guards.PID_MAX))
@click.option(
    "--at-checkpoint",
    is_flag=True,
    help="Wait for the run's next complete checkpoint, then signal it.",
)
@click.option(
    "--signal",
    "signal_name",
    default="SIGTERM",
    show_default=True,
    type=click.Choice(SIGNALS, case_sensitive=False),
    help="The first signal (SIGUSR1 for trainers that checkpoint and stop on it).",
)
@click.option(
    "--grace",
    default=30.0,
    show_default=True,
    type=FiniteRange(0, 86400),
    help="Seconds to wait after a signal before the next one (SIGTERM, then SIGKILL).",
)
@click.option("--no-kill", is_flag=True, help="Never escalate to SIGKILL.")
@click.option(
    "--deadline",
    metavar="DURATION",
    help=f"With --at-checkpoint: after this long (90s, 15m, 2h) ask on a terminal whether to stop"
    f" now, else give up (exit {DEADLINE_EXIT}, nothing sent).",
)
@click.option(
    "--settle",
    default=0.3,
    show_default=True,
    type=FiniteRange(0.05, 600),
    help="Seconds a checkpoint must stay unchanged and closed (layouts without a marker).",
)
@checkpoint_dirs_option("Also watch this folder for checkpoints (repeatable).")
@expect_create_time_option(
    "Refuse unless the process's create time is this (from `gpu impact --json`)."
)
@click.option(
    "--force-other-user",
    is_flag=True,
    help="As root, allow signalling another user's process (unsafe; refused otherwise).",
)
@json_option
def stop_command(
    pid: int,
    at_checkpoint: bool,
    signal_name: str,
    grace: float,
    no_kill: bool,
    deadline: str | None,
    settle: float,
    checkpoint_dirs: tuple[Path, ...],
    expect_create_time: float | None,
    force_other_user: bool,
    as_json: bool,
) -> None:
    """Stop a training run's process group, now or right after its next complete checkpoint.

    The signal goes to PID's process group (your own processes only; PID and start time are
    re-checked first); after --grace seconds SIGTERM follows, then SIGKILL (unless --no-kill).
    """
    invocation.note(event_type="gpu")
    deadline_s = None
    if deadline is not None:
        if not at_checkpoint:
            raise UsageError("--deadline goes with --at-checkpoint")
        deadline_s = parse_seconds(deadline)
        if deadline_s is None:
            raise UsageError(f"--deadline: {deadline!r} is not a duration such as 90s, 15m or 2h")
    options = StopOptions(
        signal=signal_number(signal_name),
        grace_s=grace,
        kill=not no_kill,
        at_checkpoint=at_checkpoint,
        deadline_s=deadline_s,
        settle_s=settle,
        extra_dirs=list(checkpoint_dirs),
        force_other_user=force_other_user,
        expected_create_time=expect_create_time,
    )
    result = stop(pid, options, notify=_say, ask=_ask)
    invocation.signal(
        "gpu_stop",
        reason=result.reason,
        signals=len(result.sent),
        exited=result.exited,
        complete_by=result.complete_by or "",
    )
    if as_json:
        emit_json(result.to_dict())
        return
    for note in result.skipped:
        _say(note)
    if result.reason == "exited":
        click.echo(f"PID {pid} exited on its own after {duration(result.waited_s)}; nothing sent")
        return
    if result.checkpoint is not None:
        name = escape(Path(result.checkpoint).name, newlines=False)
        how = "size stable, closed" if result.complete_by == "stable" else result.complete_by
        click.echo(f"checkpoint {name} complete ({how}) after {duration(result.waited_s)}")
    for sent in result.sent:
        click.echo(f"sent {sent.signal} to {', '.join(map(str, sent.pids))}")
    click.echo(f"PID {pid} {'has exited' if result.exited else 'is still running'}")
