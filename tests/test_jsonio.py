"""The one JSON module: whatever Nexus writes it reads back exactly, and whatever it cannot read
back it refuses with one line — on the write and on the read."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexus_cli import jsonio

# Every JSON value Nexus may write: finite numbers (-0.0 included), 64-bit whole numbers, any
# valid Unicode text (control characters included), nested below the cap.
_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(jsonio.INT_MIN, jsonio.INT_MAX),
    st.floats(allow_nan=False, allow_infinity=False),
    st.just(-0.0),
    _text,
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=30,
)


def _same(a: Any, b: Any) -> bool:
    """Equal, and -0.0 stays -0.0 (``0.0 == -0.0`` in Python)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@settings(max_examples=300, deadline=None)
@given(_values, st.booleans(), st.booleans())
def test_what_is_written_reads_back_exactly(value: Any, compact: bool, ascii_only: bool) -> None:
    text = jsonio.dumps(value, compact=compact, ascii_only=ascii_only)
    assert _same(jsonio.loads(text), value)
    assert _same(jsonio.loads(text.encode("utf-8")), value)


# Documents Python's json reads (or writes) that Nexus refuses, each with the words of its line.
ODD_DOCUMENTS = [
    ('{"a": NaN}', "NaN is not a JSON number"),
    ('{"a": Infinity}', "Infinity is not a JSON number"),
    ("[-Infinity]", "-Infinity is not a JSON number"),
    ('{"raw": 1e999}', "is too large"),
    ("[-1e400]", "is too large"),
    (str(2**63), "outside the 64-bit range"),
    (str(-(2**63) - 1), "outside the 64-bit range"),
    ("9" * 5000, "outside the 64-bit range"),
    ('{"a": 1, "a": 2}', "duplicate key 'a'"),
    ('{"x": {"k": 1, "k": 1}}', "duplicate key 'k'"),
    ("[" * 65 + "]" * 65, "nests deeper than 64 levels"),
    ("[" * 100_000 + "]" * 100_000, "nests deeper than 64 levels"),
    ('"\\ud800"', "lone surrogate"),
    ('["\\udfff", "a"]', "lone surrogate"),
    ('{"\\ud83d": 1}', "lone surrogate"),
    ('{"a": 1', "not valid JSON"),
    ('"raw\ncontrol"', "not valid JSON"),
    (b'"\xff"', "not UTF-8"),
]


@pytest.mark.parametrize(("document", "words"), ODD_DOCUMENTS)
def test_odd_documents_are_refused_with_one_line(document: str | bytes, words: str) -> None:
    with pytest.raises(jsonio.JSONError) as caught:
        jsonio.loads(document)
    message = str(caught.value)
    assert words in message and "\n" not in message and len(message) < 200


def test_the_limits_are_the_callers() -> None:
    assert jsonio.loads("[[1]]", max_depth=2) == [[1]]
    with pytest.raises(jsonio.JSONError, match="deeper than 1 levels"):
        jsonio.loads("[[1]]", max_depth=1)
    with pytest.raises(jsonio.JSONError, match="larger than 10 bytes"):
        jsonio.loads('"' + "x" * 20 + '"', max_bytes=10)


def test_brackets_inside_text_are_not_nesting() -> None:
    assert jsonio.loads(json.dumps(["[" * 500])) == ["[" * 500]


@pytest.mark.parametrize(
    "text",
    ['"\\ud83d\\ude00"', '"tab\\tnul\\u0000esc\\u001b"', '"\\u2028"', "-0.0", str(2**63 - 1)],
)
def test_valid_oddities_round_trip(text: str) -> None:
    value = jsonio.loads(text)
    assert _same(jsonio.loads(jsonio.dumps(value)), value)


@settings(max_examples=100, deadline=None)
@given(
    st.recursive(
        st.one_of(st.floats(), st.integers(-(2**70), 2**70), _text),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
        max_leaves=10,
    )
)
def test_any_document_python_writes_is_read_exactly_or_refused(value: Any) -> None:
    """Python's own json output (NaN, Infinity, huge numbers included) never crashes the reader
    and never reads back as something else."""
    text = json.dumps(value)
    try:
        read = jsonio.loads(text)
    except jsonio.JSONError as exc:
        assert "\n" not in str(exc)
        return
    assert _same(read, value)


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ({"median": float("nan")}, "NaN or Infinity"),
        ([float("inf")], "NaN or Infinity"),
        ({"title": "bad \udcff"}, "lone surrogate"),
    ],
)
def test_dumps_refuses_what_it_could_not_read_back(value: Any, words: str) -> None:
    with pytest.raises(jsonio.JSONError, match=words):
        jsonio.dumps(value)


def test_output_never_holds_a_bare_nan() -> None:
    value = {"p95_ms": float("nan"), "rows": [float("inf"), -float("inf"), 1.5], "n": 2}
    text = jsonio.dumps_output(value)
    assert "NaN" not in text and "Infinity" not in text
    assert jsonio.loads(text) == {"p95_ms": None, "rows": [None, None, 1.5], "n": 2}
    assert json.loads(jsonio.dumps_output({"t": "bad \udcff"})) == {"t": "bad \udcff"}


def test_output_is_indented_as_asked_and_keeps_text_readable() -> None:
    value = {"name": "café ✓", "rows": [1]}
    assert jsonio.dumps_output(value) == '{\n  "name": "café ✓",\n  "rows": [\n    1\n  ]\n}'
    assert jsonio.dumps_output(value, indent=None) == '{"name": "café ✓", "rows": [1]}'
    # the same with a number that is not finite (the path that cleans it up first)
    odd = {"name": "café ✓", "rows": [float("nan")]}
    assert jsonio.dumps_output(odd) == '{\n  "name": "café ✓",\n  "rows": [\n    null\n  ]\n}'
    assert jsonio.dumps_output(odd, indent=None) == '{"name": "café ✓", "rows": [null]}'


def test_output_converts_other_types_with_the_callers_default() -> None:
    class Moment:
        def __str__(self) -> str:
            return "2026-12-24"

    assert jsonio.dumps_output({"at": Moment()}, indent=None, default=str) == '{"at": "2026-12-24"}'
    assert (
        jsonio.dumps_output({"at": Moment(), "p95": float("inf")}, indent=None, default=str)
        == '{"at": "2026-12-24", "p95": null}'
    )
    with pytest.raises(TypeError):
        jsonio.dumps_output({"at": Moment()})


@pytest.mark.parametrize("value", [{"t": "bad \udcff"}, {"t": "bad \udcff", "p95": float("nan")}])
@pytest.mark.parametrize("indent", [None, 2])
def test_output_with_undecodable_text_can_be_printed(value: Any, indent: int | None) -> None:
    """A lone surrogate (undecodable bytes in a file name, say) is escaped, so the text can be
    written to a UTF-8 terminal or pipe; everything else reads back as it was."""
    text = jsonio.dumps_output(value, indent=indent)
    text.encode("utf-8")  # no UnicodeEncodeError
    assert text.isascii()
    expected = {k: (None if isinstance(v, float) else v) for k, v in value.items()}
    assert json.loads(text) == expected
    assert ("\n" in text) == (indent is not None)


# -- exact words and edges (pinned by mutation testing) -------------------------------------------


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("9" * 50 + ".5e999", "number " + "9" * 40 + " is too large"),
        ("9" * 50, "whole number " + "9" * 40 + "... is outside the 64-bit range"),
        ("1" + "0" * 20, "whole number 100000000000000000000... is outside the 64-bit range"),
        (str(2**63), f"whole number {2**63} is outside the 64-bit range"),
        (str(jsonio.INT_MIN - 1), f"whole number {jsonio.INT_MIN - 1} is outside the 64-bit range"),
        ("{" + '"k": 1, ' * 2 + '"x": 0}', "duplicate key 'k'"),
        ('{"first": 1, "k": 1, "k": 2}', "duplicate key 'k'"),  # the repeated one, not the first
        ('{"' + "k" * 70 + '": 1, "' + "k" * 70 + '": 2}', f"duplicate key {'k' * 60!r}"),
        ("[" * 100_000 + "]" * 100_000, "document nests deeper than 64 levels"),
        ('{"a":' * 65 + "1" + "}" * 65, "document nests deeper than 64 levels"),
        ('{"a": 1', "not valid JSON: Expecting ',' delimiter: line 1 column 8 (char 7)"),
        (b'"\xff"', "document is not UTF-8 text"),
        ('"\\ud800"', "text holds a lone surrogate (undecodable bytes)"),
        ('["\\uDC00"]', "text holds a lone surrogate (undecodable bytes)"),
        ('"raw \udcff"', "text holds a lone surrogate (undecodable bytes)"),
    ],
)
def test_each_refusal_has_its_exact_words(document: str | bytes, message: str) -> None:
    with pytest.raises(jsonio.JSONError) as caught:
        jsonio.loads(document)
    assert str(caught.value) == message


def test_the_edges_of_each_limit_are_inside() -> None:
    assert jsonio.loads(str(jsonio.INT_MIN)) == jsonio.INT_MIN  # 20 characters
    assert jsonio.loads(str(jsonio.INT_MAX)) == jsonio.INT_MAX
    assert jsonio.loads("[" * 64 + "]" * 64) is not None  # exactly the cap
    assert jsonio.loads("[[1], [2]]", max_depth=2) == [[1], [2]]  # more brackets than levels
    assert jsonio.loads('"' + "x" * 8 + '"', max_bytes=10) == "x" * 8  # exactly the size
    assert jsonio.loads(b'{"caf\xc3\xa9": "\xe2\x9c\x93"}') == {"café": "✓"}
    assert jsonio.loads('"\\ud83d\\ude00 \\uD83D\\uDE00"') == "😀 😀"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, 0),
        ("[]", 0),
        ([], 1),
        ({"a": 1}, 1),
        ([1, [2], {"b": [3]}], 3),
        ({"a": {"b": []}, "c": []}, 3),
        ([[[[]]]], 4),
    ],
)
def test_depth(value: Any, expected: int) -> None:
    assert jsonio.depth(value) == expected


def test_dumps_writes_as_asked() -> None:
    value = {"b": [1, 2], "a": "é"}
    assert jsonio.dumps(value) == '{"b": [1, 2], "a": "é"}'
    assert jsonio.dumps(value, sort_keys=True) == '{"a": "é", "b": [1, 2]}'
    assert jsonio.dumps(value, compact=True) == '{"b":[1,2],"a":"é"}'
    assert jsonio.dumps(value, separators=(",", "=")) == '{"b"=[1,2],"a"="é"}'
    assert jsonio.dumps(value, ascii_only=True) == '{"b": [1, 2], "a": "\\u00e9"}'
    assert jsonio.dumps([1], indent=2) == "[\n  1\n]"
    assert jsonio.dumps({"at": Path("/x")}, default=str) == '{"at": "/x"}'
    assert jsonio.dumps(["\udcff"], ascii_only=True) == '["\\udcff"]'  # escaped: it reads back


def test_dumps_refusals_have_their_exact_words() -> None:
    with pytest.raises(jsonio.JSONError) as caught:
        jsonio.dumps({"p95": float("nan")})
    assert str(caught.value) == "cannot write NaN or Infinity: they are not JSON numbers"
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(jsonio.JSONError) as caught:
        jsonio.dumps(loop)
    assert str(caught.value) == "cannot write Circular reference detected"
    with pytest.raises(jsonio.JSONError) as caught:
        jsonio.dumps("bad \udcff")
    assert str(caught.value) == (
        "cannot write text that holds undecodable bytes (a lone surrogate)"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a":"x\\ud800y"}', '{"a":"x\ufffdy"}'),  # a lone surrogate, escaped
        ('{"\\udfff":1,"b":["\\ud83d\\ude00"]}', '{"\ufffd":1,"b":["\U0001f600"]}'),  # key; a pair
        ('{"a":"\\\\ud800"}', '{"a":"\\\\ud800"}'),  # an escaped backslash: no surrogate at all
        ('{"a":"\\ud83d\\ude00"}', '{"a":"\\ud83d\\ude00"}'),  # a valid pair: left as sent
        ("{not json \\ud800", "{not json \\ud800"),  # not JSON: the reader refuses it as before
        ('{"a":1}', '{"a":1}'),
    ],
)
def test_lone_surrogates_are_replaced_for_a_reader_that_must_answer(
    text: str, expected: str
) -> None:
    replaced = jsonio.replace_lone_surrogates(text)
    assert replaced == expected
    if replaced.startswith('{"'):
        jsonio.loads(replaced)  # what comes out is a document Nexus reads
