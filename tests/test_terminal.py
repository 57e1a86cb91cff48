from __future__ import annotations

import io

from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from nexus_cli.terminal import escape, escape_markup, has_controls


def test_escape_sequences_are_shown_not_sent() -> None:
    title = "Fix \x1b[2J\x1b]0;owned\x07 \x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\ \x9b31m"
    shown = escape(title)
    assert "\x1b" not in shown and "\x07" not in shown and "\x9b" not in shown
    assert "^[[2J" in shown and "\\x9b" in shown
    assert escape("a\nb", newlines=False) == "a⏎b"


def test_rich_markup_in_data_is_printed_literally() -> None:
    out = io.StringIO()
    Console(file=out, force_terminal=True, color_system="truecolor", highlight=False).print(
        escape_markup("[link=http://evil]click[/link] [bold red]x")
    )
    text = out.getvalue()
    assert "[link=http://evil]click[/link]" in text
    assert "\x1b]8" not in text


@given(st.text())
def test_escaped_text_has_no_controls(text: str) -> None:
    assert not has_controls(escape(text))
    out = io.StringIO()
    Console(file=out, force_terminal=False, width=1000).print(escape_markup(text), end="")
    assert "\x1b" not in out.getvalue()
