"""A recorded owner is parsed from untrusted shared files: an owner, or None, never an error."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexus_cli import owner, ownership


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"host": "h", "pid": 1, "start": "s"},  # no token: recorded before owners had one
        {"host": "h", "pid": True, "start": "s", "token": "t"},
        {"host": "h", "pid": 0, "start": "s", "token": "t"},
        {"host": "h", "pid": "1", "start": "s", "token": "t"},
        {"host": "h", "pid": 1, "start": "s", "token": ""},
        {"host": "h", "pid": 1, "start": 5, "token": "t"},
        {"host": "h" * 500, "pid": 1, "start": "s", "token": "t"},
    ],
)
def test_records_that_are_not_owners_parse_to_none(data: dict[str, Any]) -> None:
    assert owner.parse(data) is None


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["host", "pid", "start", "token", "by"]), _JSON))
def test_any_recorded_value_parses_to_an_owner_or_none_and_never_raises(
    data: dict[str, Any],
) -> None:
    parsed = owner.parse(data)
    if parsed is not None:
        assert type(parsed.pid) is int and parsed.pid > 0 and parsed.token
        assert owner.parse(parsed.to_json()) == parsed
        assert isinstance(ownership.alive(parsed), bool)
