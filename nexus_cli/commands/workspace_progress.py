"""Showing workspace progress: a Rich display on a terminal (stderr), plain lines otherwise.

Each step shows a spinner while it runs, then ✓ when it ends; when the command fails, the steps
still running end with ✗ and the reason (the ``error:`` line below repeats it with its hint).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from nexus_cli.errors import NexusError
from nexus_cli.output import console
from nexus_cli.terminal import escape


class LineProgress:
    """Off a terminal: no animation, only the one-line messages."""

    def begin(self, step: str) -> None:
        return None

    def advance(self, step: str, done: int, total: int) -> None:
        return None

    def end(self, step: str) -> None:
        return None

    def say(self, message: str) -> None:
        click.echo(escape(message), err=True)

    def fail(self, reason: str) -> None:
        """The command failed: steps still running end with ✗ and ``reason``."""
        return None

    def close(self) -> None:
        return None


def _columns() -> list[Any]:
    from rich.progress import BarColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.table import Column
    from rich.text import Text

    class Mark(SpinnerColumn):
        """The spinner while a step runs, then its mark (✓ green, ✗ red)."""

        def render(self, task: Any) -> Any:
            mark = task.fields.get("mark")
            if mark:
                return Text(mark, style="green" if mark == "✓" else "bold red")
            return super().render(task)

    class Bar(BarColumn):
        """No bar for a step that failed: only its reason."""

        def render(self, task: Any) -> Any:
            return Text("") if task.fields.get("mark") == "✗" else super().render(task)

    # The mark, the step and the time never shrink; a long reason wraps in its own column.
    return [
        Mark(table_column=Column(no_wrap=True)),
        TextColumn("{task.description}", markup=False, table_column=Column(no_wrap=True)),
        Bar(bar_width=20),
        TextColumn("{task.fields[detail]}", markup=False, table_column=Column(overflow="fold")),
        TimeElapsedColumn(table_column=Column(no_wrap=True)),
    ]


class RichProgress(LineProgress):
    """Spinner and byte bars for the steps (worktree, image pulls, containers, health)."""

    def __init__(self) -> None:
        from rich.progress import Progress

        self._progress = Progress(*_columns(), console=console(stderr=True), transient=False)
        self._tasks: dict[str, Any] = {}
        self._running: dict[str, Any] = {}
        self._progress.start()

    def begin(self, step: str) -> None:
        task = self._tasks.get(step)
        if task is None:  # a step met again (the same image for two services) keeps one row
            task = self._progress.add_task(escape(step, newlines=False), total=None, detail="")
        else:
            self._progress.reset(task, total=None, detail="", mark="")
        self._tasks[step] = self._running[step] = task

    def advance(self, step: str, done: int, total: int) -> None:
        task = self._tasks.get(step)
        if task is not None:
            mb = 1024 * 1024
            detail = f"{done / mb:.1f}/{total / mb:.1f} MiB"
            self._progress.update(task, completed=done, total=total, detail=detail)

    def end(self, step: str) -> None:
        task = self._running.pop(step, None)
        if task is not None:
            total = self._progress.tasks[task].total or 1
            self._progress.update(task, completed=total, total=total, mark="✓")

    def say(self, message: str) -> None:
        self._progress.console.print(escape(message), markup=False, highlight=False)

    def fail(self, reason: str) -> None:
        first = escape(reason.strip().splitlines()[0] if reason.strip() else "failed")
        for task in self._running.values():
            self._progress.stop_task(task)
            self._progress.update(task, mark="✗", detail=first)
        self._running.clear()

    def close(self) -> None:
        self._progress.stop()


def make_progress() -> LineProgress:
    try:
        tty = sys.stderr.isatty()
    except (AttributeError, ValueError):
        tty = False
    return RichProgress() if tty else LineProgress()


@contextmanager
def shown_progress() -> Iterator[LineProgress]:
    """Progress for one command; on any failure the running steps end with ✗ and the reason."""
    progress = make_progress()
    try:
        yield progress
    except NexusError as exc:
        progress.fail(exc.message)
        raise
    except KeyboardInterrupt:
        progress.fail("interrupted")
        raise
    except Exception as exc:
        progress.fail(str(exc) or type(exc).__name__)
        raise
    finally:
        progress.close()
