"""The recording path's JSON: written as json.dumps writes it, and an object only when json.loads
reads one."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_cli.telemetry.journal import jsontext

SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)


@given(VALUES)
def test_dumps_writes_what_json_dumps_writes(value: Any) -> None:
    assert jsontext.dumps(value) == json.dumps(value)
    compact = {"separators": (",", ":"), "sort_keys": True}
    assert jsontext.dumps(value, **compact) == json.dumps(value, **compact)


def test_keys_that_are_not_text_are_written_as_json_writes_them() -> None:
    value = {1: "a", 2.5: "b", False: "c", None: "d"}
    assert jsontext.dumps(value) == json.dumps(value)


def test_what_json_cannot_write_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        jsontext.dumps({"a": {1, 2}})
    with pytest.raises(TypeError):
        jsontext.dumps({(1, 2): "a"})


@given(st.dictionaries(st.text(max_size=8), VALUES, max_size=4))
def test_every_object_json_writes_is_an_object(value: dict[str, Any]) -> None:
    assert jsontext.is_object(json.dumps(value))
    assert jsontext.is_object(json.dumps(value, indent=2))
    assert jsontext.is_object(json.dumps(value, ensure_ascii=False))


def _loads_an_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


JSONISH = st.text(alphabet='{}[]:,"\\ \t\n01-.eE+aeflnrstuINfinity\x01\u00e9', max_size=24)


@given(JSONISH)
def test_is_object_agrees_with_json_loads(text: str) -> None:
    assert jsontext.is_object(text) == _loads_an_object(text)


@pytest.mark.parametrize(
    "text",
    [
        '{"a":1,}',
        '{"a" 1}',
        "{a:1}",
        '{"a":01}',
        '{"a":1.}',
        '{"a":"\x01"}',
        '{"a":"\\x"}',
        '{"a":"\\u12"}',
        "{} {}",
        '{"a":[1,]}',
        "[]",
        '"text"',
        "",
        '{"a":{}}}',
    ],
)
def test_what_json_refuses_is_not_an_object(text: str) -> None:
    assert not _loads_an_object(text)
    assert not jsontext.is_object(text)


def test_is_object_accepts_what_json_accepts() -> None:
    for text in [
        ' {"a": -Infinity, "b": NaN, "c": [1e5, -0.5E-3, true, null]} ',
        '{"é": "\\u00e9"}',
    ]:
        assert _loads_an_object(text)
        assert jsontext.is_object(text)


def test_deep_nesting_is_refused() -> None:
    depth = jsontext.MAX_DEPTH
    assert jsontext.is_object('{"a":' * depth + "1" + "}" * depth)
    assert not jsontext.is_object('{"a":' * (depth + 1) + "1" + "}" * (depth + 1))
