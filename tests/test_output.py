"""``output.print_table``: data cells are escaped, never read as markup; rows fit the width."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console
from rich.text import Text

from nexus_cli import output
from nexus_cli.output import _rich_table, _safe_cell, print_table

EVIL = "Evil [red]x[/] \x1b]0;pwn\x07 title\nsecond line"


def _draw(rows: list[tuple[object, ...]], width: int, wrap: bool = False) -> tuple[str, str]:
    """The table as plain text and with its ANSI styles."""
    console = Console(width=width, record=True, color_system="truecolor", file=io.StringIO())
    numeric = [all(isinstance(r[i], int) for r in rows) for i in range(len(rows[0]))]
    safe = [tuple(_safe_cell(c) for c in r) for r in rows]
    console.print(_rich_table(("ID", "N", "TITLE"), safe, numeric, None, wrap, width))
    return console.export_text(clear=False), console.export_text(styles=True)


def test_plain_output_shows_control_characters_visibly(capsys: pytest.CaptureFixture[str]) -> None:
    print_table(("ID", "TITLE"), [("nx-1", EVIL)])
    out = capsys.readouterr().out
    assert "Evil [red]x[/] ^[]0;pwn^G title⏎second line" in out
    assert "\x1b" not in out and "\x07" not in out


def test_rich_table_shows_markup_literally_and_keeps_styled_text() -> None:
    text, styled = _draw([("nx-1", 3, EVIL), ("nx-2", 12, Text("styled", style="bold red"))], 120)
    assert "Evil [red]x[/] ^[]0;pwn^G title⏎second line" in text
    assert "\x1b]0;pwn" not in styled
    assert "\x1b[1;31mstyled" in styled  # the caller's style is kept


def test_rows_stay_on_one_line_and_long_cells_end_with_an_ellipsis() -> None:
    long = "word " * 40
    text, _ = _draw([("nx-1", 3, long), ("nx-22", 12, "short")], 60)
    lines = text.splitlines()
    assert len(lines) == 2 + 4 and all(len(line) <= 60 for line in lines)
    assert "│ nx-22 │ 12 │ short" in text  # numbers right-aligned, nothing cut but the long title
    assert lines[3].rstrip(" │").endswith("…")


def test_wrap_keeps_every_word() -> None:
    long = "word " * 40
    text, _ = _draw([("nx-1", 3, long)], 60, wrap=True)
    assert text.count("word") == 40 and "…" not in text


def test_emit_json_writes_null_for_numbers_that_are_not_finite(
    capsys: pytest.CaptureFixture[str],
) -> None:
    output.emit_json({"median_ms": float("nan"), "rates": [float("inf"), 0.5]})
    printed = capsys.readouterr().out
    assert "NaN" not in printed and "Infinity" not in printed
    assert json.loads(printed) == {"median_ms": None, "rates": [None, 0.5]}
