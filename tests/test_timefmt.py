"""timefmt.rfc3339: every stored or reported form of a moment becomes RFC 3339 UTC with Z."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from nexus_cli import timefmt
from nexus_cli.timefmt import now, rfc3339, with_rfc3339


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-30 17:59:00.436", "2026-11-30T17:59:00.436Z"),  # telemetry rows
        ("2026-11-30 17:59:00", "2026-11-30T17:59:00Z"),  # salt note
        ("2026-11-30 17:59 UTC", "2026-11-30T17:59:00Z"),  # dashboard display
        ("2026-11-30 17:59:00 UTC", "2026-11-30T17:59:00Z"),
        ("2026-11-30T17:59:12.865163Z", "2026-11-30T17:59:12.865163Z"),  # tasks: unchanged
        ("2026-11-30T17:59:12+00:00", "2026-11-30T17:59:12Z"),
        (datetime(2026, 11, 30, 17, 59, 0, 436000, tzinfo=UTC), "2026-11-30T17:59:00.436000Z"),
        (
            datetime(2026, 11, 30, 18, 59, tzinfo=timezone(timedelta(hours=1))),
            "2026-11-30T17:59:00Z",
        ),
        (0, "1970-01-01T00:00:00.000Z"),
        (1796061540.25, "2026-11-30T17:59:00.250Z"),
        (None, None),
    ],
)
def test_forms_become_rfc3339_utc(value: object, expected: str | None) -> None:
    assert rfc3339(value) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value", ["yesterday", "2026-11-30T17:59:00+01:00", "30/11/2026 17:59", "", True]
)
def test_anything_else_is_refused(value: object) -> None:
    with pytest.raises(ValueError):
        rfc3339(value)  # type: ignore[arg-type]


def test_now_is_rfc3339_with_milliseconds() -> None:
    text = now()
    assert text.endswith("Z") and len(text) == len("2026-11-30T17:59:00.436Z")
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - moment).total_seconds()) < 5


def test_rows_convert_only_their_time_keys_and_keep_damaged_values() -> None:
    row = {"timestamp": "2026-11-30 17:59:00.436", "label": "2026-11-30 17:59:00.436", "x": 1}
    assert with_rfc3339(row, ("timestamp", "missing")) == {
        "timestamp": "2026-11-30T17:59:00.436Z",
        "label": "2026-11-30 17:59:00.436",
        "x": 1,
    }
    assert with_rfc3339({"timestamp": "garbage"}, ("timestamp",)) == {"timestamp": "garbage"}
    assert row["timestamp"] == "2026-11-30 17:59:00.436"  # the input is not changed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-06T09:00:00Z", "2026-12-06T09:00:00+00:00"),
        ("2026-12-06T10:00:00+01:00", "2026-12-06T10:00:00+01:00"),
        ("2026-12-06T09:00:00", None),  # no zone: not a moment
        ("yesterday", None),
        (12, None),
        (None, None),
    ],
)
def test_parse_moment_takes_only_times_with_a_zone(text: object, expected: str | None) -> None:
    found = timefmt.parse_moment(text)
    assert (None if found is None else found.isoformat()) == expected
