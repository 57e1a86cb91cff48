"""Durations, sizes and n/a values as people read them."""

from __future__ import annotations

import pytest

from nexus_cli.gpu.units import duration, number, size


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "n/a"), (0.3, "0.3s"), (12, "12s"), (483, "8m 3s"), (22500, "6h 15m"), (-90, "1m 30s")],
)
def test_duration(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text


@pytest.mark.parametrize(
    ("num", "text"),
    [
        (None, "n/a"),
        (48, "48 B"),
        (4096, "4.0 KiB"),
        (22 * 1024**3, "22.0 GiB"),
        (2 * 1024**4, "2.0 TiB"),
    ],
)
def test_size(num: int | None, text: str) -> None:
    assert size(num) == text


def test_number() -> None:
    assert (
        number(None, "%") == "n/a" and number(95, "%") == "95%" and number(1.25, " W", 1) == "1.2 W"
    )
