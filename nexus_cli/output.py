"""Rendering: JSON on stdout for scripts, Rich for people, plain text when piped.

Rich is imported only inside the functions that draw; ``NO_COLOR`` is respected, and when stdout is
not a terminal no colour and no box drawing is printed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from rich.console import Console

F = TypeVar("F", bound=Callable[..., Any])

# The version of the --json shapes (docs/json.md, docs/schemas/): raised only by a change that
# can break a script (a key removed or renamed, a type changed); added keys keep it.
JSON_CONTRACT = 1


def json_option(func: F) -> F:
    """The ``--json`` flag every listing and status command takes."""
    return click.option(
        "--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout."
    )(func)


def stdout_is_tty() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def color_enabled(stream_is_tty: bool | None = None) -> bool:
    if "NO_COLOR" in os.environ and os.environ["NO_COLOR"] != "":
        return False
    return stdout_is_tty() if stream_is_tty is None else stream_is_tty


def _default(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if hasattr(value, "__dataclass_fields__"):
        import dataclasses

        return dataclasses.asdict(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    return str(value)


def emit_json(data: Any) -> None:
    """Print ``data`` as JSON (and nothing else) on stdout."""
    import json

    click.echo(json.dumps(data, indent=2, default=_default, ensure_ascii=False))


def console(stderr: bool = False) -> Console:
    """A Rich console that honours NO_COLOR and draws plainly when not on a terminal."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    return Console(
        file=stream,
        no_color=not color_enabled(tty),
        color_system="auto" if color_enabled(tty) else None,
        highlight=False,
        emoji=False,
        soft_wrap=not tty,
        width=None if tty else 200,
    )


def _plain_table(columns: Sequence[str], rows: list[tuple[str, ...]]) -> str:
    widths = [max([len(str(c)), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    lines = [columns, *rows]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip() for line in lines
    )


def print_table(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
    empty: str | None = None,
) -> None:
    """Print a table: Rich boxes on a terminal, plain aligned columns (no Rich) otherwise."""
    cells = [tuple("" if cell is None else str(cell) for cell in row) for row in rows]
    if not cells and empty is not None:
        click.echo(empty, err=True)
        return
    if not stdout_is_tty():
        if title:
            click.echo(title)
        click.echo(_plain_table(columns, cells))
        return
    from rich import box
    from rich.table import Table

    table = Table(*columns, title=title, box=box.ROUNDED, header_style="bold", pad_edge=False)
    for row in cells:
        table.add_row(*row)
    console().print(table)


def warn(message: str) -> None:
    click.echo(f"warning: {message}", err=True)


def info(message: str) -> None:
    click.echo(message, err=True)
