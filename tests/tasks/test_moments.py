"""Dates typed for tasks are parsed strictly and stored as sortable UTC moments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nexus_cli.errors import UsageError
from nexus_cli.tasks.moments import parse_moment, parse_since


def test_dates_and_moments_with_a_zone() -> None:
    assert parse_moment("2030-12-24", what="x") == "2030-12-24T00:00:00.000000Z"
    assert parse_moment("2030-12-24T09:00Z", what="x") == "2030-12-24T09:00:00.000000Z"
    assert parse_moment("2030-12-24T09:00:30+02:00", what="x") == "2030-12-24T07:00:30.000000Z"


@pytest.mark.parametrize(
    "text",
    ["tomorrow", "24/12/2030", "2030-2-3", "2030-02-30", "2030-12-24T09:00", "2030-12-24T25:00Z",
     "", "7d"],
)  # fmt: skip
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(UsageError, match="--until"):
        parse_moment(text, what="--until")


def test_since_takes_an_age() -> None:
    moment = parse_since("2d")
    expected = datetime.now(UTC) - timedelta(days=2)
    parsed = datetime.strptime(moment, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert abs((parsed - expected).total_seconds()) < 60
    with pytest.raises(UsageError, match="is not a date") as caught:
        parse_since("2 days")
    assert caught.value.hint is not None and "an age like 7d" in caught.value.hint
