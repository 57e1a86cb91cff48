"""Showing workspace progress: a Rich display on a terminal (stderr), plain lines otherwise."""

from __future__ import annotations

import sys
from typing import Any

import click


class PlainProgress:
    """Off a terminal: no animation, only the one-line messages."""

    def begin(self, step: str) -> None:
        return None

    def advance(self, step: str, done: int, total: int) -> None:
        return None

    def end(self, step: str) -> None:
        return None

    def say(self, message: str) -> None:
        click.echo(message, err=True)

    def close(self) -> None:
        return None


class RichProgress(PlainProgress):
    """Spinner and byte bars for the steps (worktree, image pulls, containers, health)."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        from nexus_cli.output import console

        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=console(stderr=True),
            transient=False,
        )
        self._tasks: dict[str, Any] = {}
        self._progress.start()

    def begin(self, step: str) -> None:
        self._tasks[step] = self._progress.add_task(step, total=None, detail="")

    def advance(self, step: str, done: int, total: int) -> None:
        task = self._tasks.get(step)
        if task is not None:
            mb = 1024 * 1024
            detail = f"{done / mb:.1f}/{total / mb:.1f} MiB"
            self._progress.update(task, completed=done, total=total, detail=detail)

    def end(self, step: str) -> None:
        task = self._tasks.get(step)
        if task is not None:
            total = self._progress.tasks[task].total or 1
            self._progress.update(task, completed=total, total=total, description=f"✓ {step}")

    def say(self, message: str) -> None:
        self._progress.console.print(message, markup=False, highlight=False)

    def close(self) -> None:
        self._progress.stop()


def make_progress() -> PlainProgress:
    try:
        tty = sys.stderr.isatty()
    except (AttributeError, ValueError):
        tty = False
    return RichProgress() if tty else PlainProgress()
