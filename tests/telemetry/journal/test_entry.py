"""Journal entries: what the recorder writes is what the fold reads back, and nothing else."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_cli import errors
from nexus_cli.telemetry.journal import entry, invocation, reader, recorder


def _entry(**fields: Any) -> dict[str, Any]:
    inv = invocation.Invocation(["workspace", "create"])
    inv.command_path = ["workspace", "create"]
    inv.fields.update(fields)
    return recorder.build_entry(inv, 0, time.time(), 12, main=True)


def test_a_plain_entry_is_one_record_written_without_json() -> None:
    data = entry.encode(_entry())
    assert data.startswith(entry.SEPARATOR) and data.endswith(b"\n")
    assert data.count(b"\n") == 1 and data.count(entry.SEPARATOR) == 1
    assert reader.decode(data[1:]) == json.loads(data[1:])


TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")),
    min_size=1,
    max_size=40,
).filter(str.isprintable)


@given(category=TEXT, template=TEXT, ports=st.integers(0, 65535))
def test_any_printable_text_round_trips(category: str, template: str, ports: int) -> None:
    item = _entry(error_category=category, template_used=template, ports_used=ports)
    assert reader.decode(entry.encode(item)[1:]) == item


def test_exit_codes_of_an_int_enum_are_plain_ints() -> None:
    inv = invocation.Invocation(["x"])
    item = recorder.build_entry(inv, errors.ExitCode.USAGE, time.time(), 1, main=True)
    assert type(item["exit_code"]) is int
    assert reader.decode(entry.encode(item)[1:])["exit_code"] == 2


@pytest.mark.parametrize(
    "change",
    [
        {"v": 2},
        {"uid": "xyz"},
        {"t": -5},
        {"ppid": -1},
        {"sid": ""},
        {"main": 2},
        {"event_type": "a\nb"},
        {"workspace_hash": "A" * 64},
        {"duration_ms": 1.5},
        {"success": False},
        {"services_count": 10**7},
        {"raw_data": "not json"},
        {"raw_data": '"a string"'},
        {"exit_code": 2**31},
        {"nexus_version": "x" * 65},
    ],
    ids=lambda c: next(iter(c)),
)
def test_each_field_is_checked(change: dict[str, Any]) -> None:
    with pytest.raises(entry.BadEntry):
        entry.encode({**_entry(), **change})
    with pytest.raises(entry.BadEntry):
        reader.decode(json.dumps({**_entry(), **change}).encode() + b"\n")


def test_missing_or_extra_keys_are_refused() -> None:
    item = _entry()
    del item["command"]
    with pytest.raises(entry.BadEntry):
        entry.check(item)
    with pytest.raises(entry.BadEntry):
        entry.check({**_entry(), "path": "/home/me"})


def test_oversized_and_torn_records_are_refused() -> None:
    with pytest.raises(entry.BadEntry):
        reader.decode(b"{" + b" " * entry.MAX_ENTRY_BYTES + b"}\n")
    data = entry.encode(_entry())
    with pytest.raises(entry.BadEntry):
        reader.decode(data[1:-5])


@pytest.mark.parametrize(
    "raw_data",
    [
        '{"value": Infinity}',
        '{"value": NaN}',
        '{"value": 1e999}',  # no NaN literal, yet Python's json reads infinity
        '{"value": -1e400}',
        '{"value": 99999999999999999999}',
        '{"value": 1, "value": 2}',
        '{"a": ' * 40 + "1" + "}" * 40,
        '{"text": "\\ud800"}',
    ],
)
def test_raw_data_that_would_break_the_fold_is_refused(raw_data: str) -> None:
    """The journal record schema reads ``raw_data`` with the strict reader: a value the fold
    could not sum or store (infinity, a number past 64 bits) never passes the check."""
    with pytest.raises(entry.BadEntry, match="raw_data"):
        entry.check({**_entry(), "raw_data": raw_data})
    record = json.dumps({**_entry(), "raw_data": raw_data}).encode() + b"\n"
    with pytest.raises(entry.BadEntry):
        reader.decode(record)


@pytest.mark.parametrize("field", ["duration_ms", "exit_code"])
def test_a_record_with_nan_or_a_duplicate_key_is_refused_on_read(field: str) -> None:
    good = entry.encode(_entry())[1:]
    with pytest.raises(entry.BadEntry):
        reader.decode(good.replace(f'"{field}":'.encode(), f'"{field}":NaN,"{field}":'.encode()))
    text = good.decode()
    duplicated = text.replace('"v":1,', '"v":1,"v":1,', 1)
    assert duplicated != text
    with pytest.raises(entry.BadEntry):
        reader.decode(duplicated.encode())
