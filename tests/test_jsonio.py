"""The one JSON module: whatever Nexus writes it reads back exactly, and whatever it cannot read
back it refuses with one line — on the write and on the read."""

from __future__ import annotations

import json
import math
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
