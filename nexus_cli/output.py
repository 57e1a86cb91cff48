"""Rendering: JSON on stdout for scripts, Rich for people, plain text when piped.

Rich is imported only inside the functions that draw; ``NO_COLOR`` is respected, and when stdout is
not a terminal no colour and no box drawing is printed.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

from nexus_cli.jsonio import dumps_output
from nexus_cli.terminal import escape, escape_markup

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
        return dataclasses.asdict(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    return str(value)


def emit_json(data: Any) -> None:
    """Print ``data`` as JSON (and nothing else) on stdout; a number that is not finite (a NaN
    from a division by nothing) is written as ``null``, never as a bare ``NaN``."""
    click.echo(dumps_output(data, indent=2, default=_default))


PIPED_WIDTH = 200  # off a terminal, long lines are kept whole (tables, insights) up to this width


def console(stderr: bool = False, width: int | None = None) -> Console:
    """A Rich console that honours NO_COLOR and draws plainly when not on a terminal.

    ``width`` fixes the width (terminal or not); otherwise a terminal's own width is used, and
    :data:`PIPED_WIDTH` off a terminal.
    """
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
        width=width if width is not None else (None if tty else PIPED_WIDTH),
    )


_CODE = re.compile(r"\\?`([^`]+)`")


def code_markup(text: str, *, styled: bool = True) -> str:
    """Escaped ``text`` with `code` spans styled (or kept in backticks where there is no style),
    as Rich markup: for a console that prints with markup on."""
    escaped = escape_markup(text, newlines=False)
    if not styled:
        return escaped
    return _CODE.sub(lambda m: f"[bold cyan]{m.group(1)}[/]", escaped)


def _plain_table(columns: Sequence[str], rows: list[tuple[str, ...]]) -> str:
    widths = [max([len(str(c)), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    lines = [columns, *rows]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip() for line in lines
    )


def _safe_cell(cell: Any) -> Any:
    """A cell ready to draw: ``rich.text.Text`` as the caller styled it, anything else as plain
    text with control characters shown visibly and newlines as ``⏎`` (Rich markup is never read
    from data: a title holding ``[red]`` prints ``[red]``)."""
    if cell is None:
        return ""
    if hasattr(cell, "plain") and hasattr(cell, "spans"):  # rich.text.Text, without importing it
        return cell
    return escape(str(cell), newlines=False)


def _is_number(cell: Any) -> bool:
    return isinstance(cell, int | float) and not isinstance(cell, bool)


def print_table(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
    empty: str | None = None,
    wrap: bool = False,
    right: Sequence[str] = (),
) -> None:
    """Print a table: Rich boxes on a terminal, plain aligned columns (no Rich) otherwise.

    Cells are data: strings are escaped (:func:`nexus_cli.terminal.escape`) and never read as
    Rich markup; pass a ``rich.text.Text`` for a cell styled on purpose. Numeric columns are
    right-aligned, as are the columns named in ``right`` (durations). On a terminal each row stays on one line and the widest cells (a long title)
    are cut with ``…`` to fit the width, unless ``wrap`` (prose such as doctor's fixes wraps at
    words). Piped, every value is printed whole in plain aligned columns.
    """
    raw = [tuple(row) for row in rows]
    cells = [tuple(_safe_cell(cell) for cell in row) for row in raw]
    if not cells and empty is not None:
        click.echo(empty, err=True)
        return
    if not stdout_is_tty():
        if title:
            click.echo(title)
        click.echo(_plain_table(columns, [tuple(str(c) for c in row) for row in cells]))
        return
    out = console()
    numeric = [
        name in right or (bool(raw) and all(_is_number(r[i]) for r in raw))
        for i, name in enumerate(columns)
    ]
    out.print(_rich_table(columns, cells, numeric, title, wrap, out.width))


def _fair_cap(natural: list[int], available: int) -> int | None:
    """The widest a column may be so that all fit in ``available`` (the widest are cut first)."""
    if sum(natural) <= available:
        return None
    for cap in range(max(natural), 0, -1):
        if sum(min(n, cap) for n in natural) <= available:
            return max(cap, 4)
    return 4


def _rich_table(
    columns: Sequence[str],
    cells: list[tuple[Any, ...]],
    numeric: list[bool],
    title: str | None,
    wrap: bool,
    width: int,
) -> Any:
    from rich import box
    from rich.cells import cell_len
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, box=box.ROUNDED, header_style="bold")
    natural = [
        max([cell_len(c), *(cell_len(str(r[i])) for r in cells)]) for i, c in enumerate(columns)
    ]
    # Borders (one more than the columns) and one space of padding either side of each cell.
    cap = None if wrap else _fair_cap(natural, width - (len(columns) + 1) - 2 * len(columns))
    for index, name in enumerate(columns):
        table.add_column(
            name,
            justify="right" if numeric[index] else "left",
            no_wrap=not wrap,
            overflow="fold" if wrap else "ellipsis",
            max_width=cap,
        )
    for row in cells:
        table.add_row(*(c if isinstance(c, Text) else Text(c) for c in row))
    return table


def warn(message: str) -> None:
    click.echo(f"warning: {message}", err=True)


def info(message: str) -> None:
    click.echo(message, err=True)
