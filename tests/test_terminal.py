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


def test_exact_visible_forms() -> None:
    assert escape("\x1b") == "^["
    assert escape("\x00\x01\x1f") == "^@^A^_"
    assert escape("\x7f\x80\x9f") == "\\x7f\\x80\\x9f"
    assert escape("\xa0é\t\n") == "\xa0é\t\n"
    assert escape("a\ud800b") == "a\ufffdb"
    assert escape("a\r\nb\nc", newlines=False) == "a⏎b⏎c"
    assert escape("a\r\nb") == "a^M\nb"


def test_markup_escape_exact() -> None:
    assert escape_markup("[b]x[/b]") == "\\[b]x\\[/b]"
    assert escape_markup("\\[b]") == "\\\\\\[b]"
    assert escape_markup("[]") == "\\[]"
    assert escape_markup("[@click]") == "\\[@click]"
    assert escape_markup("[#fff]") == "\\[#fff]"
    assert escape_markup("a [1] b") == "a [1] b"
    assert escape_markup("\x1b[31m") == "^[[31m"
    assert escape_markup("x\ny", newlines=False) == "x⏎y"


def test_bidi_overrides_are_shown_so_an_approved_command_reads_as_it_runs() -> None:
    # "Trojan Source": on a terminal that does bidi, U+202E makes the rest read backwards
    command = "make test #\u202e hs|lve/x.lilve//:ptth lruc ;"
    assert escape(command) == "make test #\\u202e hs|lve/x.lilve//:ptth lruc ;"
    assert escape("a\u202ab\u2066c\u2069d\u202c") == "a\\u202ab\\u2066c\\u2069d\\u202c"
    assert has_controls("\u2067") and not has_controls("שלום עולם")  # plain RTL text stays
    assert escape("\u200d\u05d0") == "\u200d\u05d0"  # joiners (emoji, scripts) stay


def test_has_controls() -> None:
    assert has_controls("a\x1bb")
    assert has_controls("\x9b")
    assert not has_controls("tab\tnewline\n")
    assert not has_controls("plain")
