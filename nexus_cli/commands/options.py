"""Option declarations that several command groups share (Click only; loaded with the commands)."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from nexus_cli.errors import ConfirmationNeededError, UsageError

F = TypeVar("F", bound=Callable[..., Any])


class FiniteRange(click.FloatRange):
    """Click's ``FloatRange`` that also refuses ``nan`` and ``inf``: both pass its bounds (a
    comparison with nan is false), and a sleep or deadline of either fails deep inside."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


def shown_default_option(
    name: str, kind: click.ParamType[Any, Any], default: Any, help: str
) -> Callable[[F], F]:
    """The option ``name`` of type ``kind`` (a range, a choice), whose default ``--help`` shows."""
    return click.option(name, type=kind, default=default, show_default=True, help=help)


def yes_option(func: F) -> F:
    """``--yes``/``-y``: the one flag that answers yes to a command's confirmation question."""
    return click.option(
        "--yes",
        "-y",
        is_flag=True,
        help="Do not ask for confirmation (required when stdin is not a terminal).",
    )(func)


def checkpoint_dirs_option(help: str) -> Callable[[F], F]:
    """``--checkpoint-dir DIR`` (repeatable, an existing folder) of the GPU commands."""
    return click.option(
        "--checkpoint-dir",
        "checkpoint_dirs",
        multiple=True,
        metavar="DIR",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        help=help,
    )


def expect_create_time_option(help: str) -> Callable[[F], F]:
    """``--expect-create-time EPOCH``: the process must still be the one that was analysed."""
    return click.option("--expect-create-time", type=float, metavar="EPOCH", help=help)


def lease_option(help: str) -> Callable[[F], F]:
    """``--lease SECONDS``: how long a claim lasts without a heartbeat (loop and fleet)."""
    return click.option(
        "--lease",
        "lease_s",
        type=click.IntRange(1, 7 * 24 * 3600),
        metavar="SECONDS",
        help=help,
    )


def stdin_is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def confirm(question: str, *, yes: bool) -> None:
    """Ask ``question`` (y/N, on stderr) unless ``yes``; a "no" aborts (exit 1).

    Without a terminal on stdin nothing is asked, so a script or agent never waits on a prompt
    nobody sees: it stops at once with :class:`ConfirmationNeededError` (exit 4) unless ``--yes``.
    """
    if yes:
        return
    if not stdin_is_terminal():
        ctx = click.get_current_context(silent=True)
        command = ctx.command_path if ctx is not None else "nexus"
        raise ConfirmationNeededError(
            f"`{command}` asks for confirmation and stdin is not a terminal",
            hint="pass --yes (-y) to confirm without being asked",
        )
    click.confirm(question, abort=True, err=True)


def parse_vars(pairs: tuple[str, ...]) -> dict[str, str]:
    """``--var KEY=VALUE`` pairs as a mapping; the keys are checked by the core."""
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--var expects KEY=VALUE, got {pair!r}")
        values[key] = value
    return values
