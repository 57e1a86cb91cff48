"""Progress on stderr for long one-time work on the telemetry database (roll-up builds, indexes).

Shown only when stderr is a terminal (Rich, transient: it leaves nothing behind); when stderr is
piped or redirected nothing is written, so scripts and ``--json`` output stay clean.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Tick = Callable[[int], None]


def _on_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


@contextmanager
def bar(label: str, total: int | None, *, show: bool = True) -> Iterator[Tick]:
    """Yield ``tick(n)`` that advances a bar of ``total`` units (None: elapsed time only)."""
    if not (show and _on_terminal()):
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = [TextColumn("{task.description}"), BarColumn(), TaskProgressColumn()]
    with Progress(
        *columns, TimeElapsedColumn(), console=Console(stderr=True), transient=True
    ) as shown:
        task = shown.add_task(label, total=total)
        yield lambda n: shown.advance(task, n)
