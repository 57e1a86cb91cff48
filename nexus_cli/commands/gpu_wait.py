"""`nexus gpu wait --free N -- CMD` and `nexus gpu pick`: free devices, for people and scripts."""

from __future__ import annotations

import os
import time
from dataclasses import asdict

import click

from nexus_cli import proc
from nexus_cli.commands.options import FiniteRange
from nexus_cli.errors import NexusError, UsageError
from nexus_cli.gpu import nvml, reserve
from nexus_cli.gpu.stop import DEADLINE_EXIT
from nexus_cli.gpu.units import duration, parse_seconds, size
from nexus_cli.output import emit_json, json_option
from nexus_cli.telemetry.journal import invocation
from nexus_cli.terminal import escape


class NoFreeDeviceError(NexusError):
    category = "no_free_gpu"


class WaitTimedOutError(NexusError):
    exit_code = DEADLINE_EXIT
    category = "timeout"


def _min_memory(gb: float | None) -> int | None:
    return None if gb is None else int(gb * reserve.GIB)


def _condition(count: int, gb: float | None) -> str:
    what = "device" if count == 1 else "devices"
    extra = f" with {gb:g} GiB unused" if gb is not None else " with no process"
    return f"{count} free {what}{extra}"


min_memory_option = click.option(
    "--min-memory",
    type=FiniteRange(0, min_open=True),
    metavar="GB",
    help="Enough when this much memory (GiB) is unused, other processes or not.",
)


@click.command("pick")
@click.option("-n", "count", default=1, show_default=True, type=click.IntRange(1, 64))
@min_memory_option
@json_option
def pick_command(count: int, min_memory: float | None, as_json: bool) -> None:
    """Print the UUIDs of the best free GPUs, one a line, for scripts (reserves nothing).

    Free: no process and not reserved by `nexus gpu wait` (with --min-memory: that much unused).
    Best: most unused memory, then lowest utilisation. Exit 1 when fewer than -n are free.
    """
    invocation.note(event_type="gpu")
    with nvml.opened() as session:
        chosen = reserve.pick(session, count, _min_memory(min_memory))
    if as_json:
        emit_json({"devices": [asdict(d) for d in chosen], "wanted": count})
    else:
        for device in chosen:
            click.echo(escape(device.uuid, newlines=False))
    if len(chosen) < count:
        raise NoFreeDeviceError(
            f"only {len(chosen)} of the {_condition(count, min_memory)} asked for",
            hint="`nexus gpu wait --free N -- CMD` waits for them",
        )


@click.command("wait", context_settings={"ignore_unknown_options": True})
@click.option(
    "--free",
    "count",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="How many devices CMD needs.",
)
@min_memory_option
@click.option(
    "--timeout",
    metavar="DURATION",
    help=f"Give up after this long (90s, 15m, 2h): exit {DEADLINE_EXIT}, CMD not run.",
)
@click.option(
    "--interval",
    default=2.0,
    show_default=True,
    type=FiniteRange(0.05, 600),
    help="Seconds between NVML polls.",
)
@json_option
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED, metavar="-- CMD...")
def wait_command(
    count: int,
    min_memory: float | None,
    timeout: str | None,
    interval: float,
    as_json: bool,
    command: tuple[str, ...],
) -> None:
    """Wait until N GPUs are free, then run CMD on them (CUDA_VISIBLE_DEVICES by UUID).

    The devices stay reserved (a file per device under $NEXUS_HOME/gpu/reservations) until CMD
    ends, so two waiters never share one; nexus exits with CMD's exit code.
    """
    invocation.note(event_type="gpu")
    timeout_s = None
    if timeout is not None:
        timeout_s = parse_seconds(timeout)
        if timeout_s is None:
            raise UsageError(f"--timeout: {timeout!r} is not a duration such as 90s, 15m or 2h")
    owner = reserve.Owner.me()
    started = time.monotonic()

    def waiting(found: int) -> None:
        click.echo(f"waiting for {_condition(count, min_memory)} ({found} now)", err=True)

    with nvml.opened() as session:
        chosen = reserve.wait_and_claim(
            session,
            count,
            owner,
            min_memory=_min_memory(min_memory),
            timeout_s=timeout_s,
            interval_s=interval,
            on_wait=waiting,
        )
    waited = time.monotonic() - started
    if chosen is None:
        raise WaitTimedOutError(
            f"no {_condition(count, min_memory)} within {duration(waited)}; CMD was not run"
        )
    uuids = [d.uuid for d in chosen]
    invocation.metric("gpu_wait_s", waited)
    click.echo(
        f"running on {', '.join(f'GPU {d.index} ({size(d.memory_free)} free)' for d in chosen)}",
        err=True,
    )
    try:
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": ",".join(uuids)}
        code = proc.run_attached(list(command), env=env)
    finally:
        reserve.release(uuids, owner)
    if as_json:
        emit_json({"devices": uuids, "waited_s": round(waited, 2), "exit_code": code})
    if code != 0:
        raise click.exceptions.Exit(code if code > 0 else 128 - code)
