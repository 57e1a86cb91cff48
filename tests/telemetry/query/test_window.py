"""Windows: presets, dates, relative ages, and the bad inputs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nexus_cli.errors import UsageError
from nexus_cli.telemetry.query import window

NOW = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)


def test_presets() -> None:
    assert window.resolve(today=True, now=NOW).since == "2026-11-23 00:00:00.000"
    assert window.resolve(week=True, now=NOW).since == "2026-11-16 10:00:00.000"
    assert window.resolve(month=True, now=NOW).since == "2026-10-24 10:00:00.000"


def test_dates_are_utc_and_until_includes_the_day() -> None:
    w = window.resolve(since="2026-11-01", until="2026-11-02", now=NOW)
    assert (w.since, w.until) == ("2026-11-01 00:00:00.000", "2026-11-03 00:00:00.000")
    assert window.resolve(since="12h", now=NOW).since == "2026-11-22 22:00:00.000"


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"since": "2026-13-01"}, "unknown date"),
        ({"until": "yesterday-ish"}, "unknown date"),
        ({"since": "2026-11-05", "until": "2026-11-01"}, "is not before"),
        ({"week": True, "month": True}, "choose one"),
        ({"today": True, "since": "7d"}, "choose one"),
        ({"since": "\u0661\u0662d"}, "unknown date"),  # Arabic-Indic digits are not a count
    ],
)
def test_bad_input(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        window.resolve(now=NOW, **kwargs)  # type: ignore[arg-type]


def test_the_times_nexus_prints_are_read_back() -> None:
    """`stats --json` and `export` print RFC 3339 (`…T10:37:28.478Z`): a script passes them on."""
    w = window.resolve(since="2026-11-20T10:37:28.478Z", until="2026-11-21T01:00:00+02:00", now=NOW)
    assert (w.since, w.until) == ("2026-11-20 10:37:28.478", "2026-11-20 23:00:00.000")
