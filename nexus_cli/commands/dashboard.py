"""``nexus dashboard``: the usage dashboard in the terminal (Rich), live, or as one HTML file."""

from __future__ import annotations

import contextlib
import importlib
import os
import select
import sys
import termios
import time
import tty
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import click

from nexus_cli.commands.options import FiniteRange, shown_default_option
from nexus_cli.errors import UsageError
from nexus_cli.output import console, emit_json, json_option, stdout_is_tty
from nexus_cli.telemetry import usage
from nexus_cli.workflows import history as task_history

# What draws the dashboard on a terminal (Rich renderables), loaded by name only when it is drawn:
# `--html` and `--json` do not load Rich.
VIEW = "nexus_cli.commands.dashboard_view"


def _view() -> ModuleType:
    return importlib.import_module(VIEW)


def _gather(days: int) -> dict[str, Any]:
    """The figures the terminal draws: the telemetry's and the agent cost panel's."""
    return {**usage.dashboard(days).figures, "cost": task_history.dashboard_cost(days)}


PIPED_WIDTH = 80  # off a terminal the dashboard fits a classic terminal, unless --width says


def _console(width: int | None) -> Any:
    """The console to draw on: ``--width`` if given, the terminal's width, else 80 columns."""
    return console(width=width if width is not None or stdout_is_tty() else PIPED_WIDTH)


def _watch(days: int, interval: float, width: int | None) -> None:
    """Redraw in the alternate screen until ``q`` or Ctrl-C; when piped, print each refresh."""
    out = _console(width)
    if not out.is_terminal:
        try:
            while True:
                out.print(_view().static(_gather(days), out.width))
                out.file.flush()
                time.sleep(interval)
        except KeyboardInterrupt:
            return
    from rich.live import Live

    def frame() -> Any:
        width, height = out.size
        return _view().screen(_gather(days), width, height, interval)

    with _keys() as pressed, Live(frame(), console=out, screen=True, auto_refresh=False) as live:
        try:
            while pressed(interval) not in ("q", "Q"):
                live.update(frame(), refresh=True)
        except KeyboardInterrupt:
            return


@contextlib.contextmanager
def _keys() -> Iterator[Callable[[float], str | None]]:
    """Read single key presses from the terminal (cbreak mode, restored on exit).

    Yields ``pressed(timeout)``: the key pressed within ``timeout`` seconds, else ``None``.
    """
    stream = sys.stdin
    try:
        fd = stream.fileno()
        saved = termios.tcgetattr(fd)
    except (OSError, ValueError, termios.error):
        yield lambda timeout: time.sleep(timeout)  # type: ignore[func-returns-value]
        return

    def pressed(timeout: float) -> str | None:
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            return None
        data = os.read(fd, 32).decode(errors="replace")
        return data[:1] or "q"  # end of input: stop as for q

    tty.setcbreak(fd)
    try:
        yield pressed
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


@click.command()
@shown_default_option("--days", click.IntRange(1, 3650), 30, "How many days to show.")
@click.option("--watch", is_flag=True, help="Refresh live in the full terminal until q or Ctrl-C.")
@shown_default_option(
    "--interval", FiniteRange(0.2), 5.0, "Seconds between refreshes with --watch."
)
@click.option("--html", "html_file", metavar="FILE", help="Write one self-contained HTML page.")
@click.option(
    "--force", is_flag=True, help="Replace an existing --html file (unsafe: its content is lost)."
)
@click.option(
    "--width",
    type=click.IntRange(40, 1000),
    metavar="N",
    help="Draw N columns wide (default: the terminal's width; 80 when not on a terminal).",
)
@json_option
def dashboard(
    days: int,
    watch: bool,
    interval: float,
    html_file: str | None,
    force: bool,
    width: int | None,
    as_json: bool,
) -> None:
    """Workspaces created, tasks completed, sessions, success rate, templates, issues, insights,
    agent cost."""
    ways = [
        name for name, on in (("--watch", watch), ("--html", html_file), ("--json", as_json)) if on
    ]
    if len(ways) > 1:
        raise UsageError(f"{' and '.join(ways)} are each a way to show it: choose one")
    if force and not html_file:
        raise UsageError("--force applies to --html FILE")
    if watch:
        _watch(days, interval, width)
        return
    if html_file:
        path = task_history.write_dashboard_html(days, html_file, force=force)
        click.echo(f"dashboard written to {path}", err=True)
        return
    if as_json:
        emit_json(usage.dashboard(days).to_json())
    else:
        out = _console(width)
        out.print(_view().static(_gather(days), out.width))
