"""Mergeable log-bucketed duration histograms (DDSketch-style), the roll-ups' percentile source.

A duration ``x > 0`` goes to bucket ``i = ceil(log_gamma(x))`` with ``gamma = (1 + a) / (1 - a)``
and ``a = RELATIVE_ACCURACY``: the bucket holds ``(gamma**(i-1), gamma**i]`` and is represented by
``2 * gamma**i / (gamma + 1)``, which is within ``a`` (1%) of every value in it. Durations ``<= 0``
share :data:`ZERO_BUCKET`, represented by 0. Histograms are plain ``{bucket: count}`` mappings, so
merging two windows (or two days) is adding counts, as with Prometheus native histograms and
OpenTelemetry exponential histograms (which use power-of-two gammas; any gamma merges with itself).

Each bucket of the roll-ups also keeps its smallest and largest value; the representative is
clamped into them (exact when a bucket saw one value, never further from the true one).

Percentiles are nearest-rank, like the exact path (:func:`nexus_cli.telemetry.query.stats.percentile`):
the bucket holding the rank-th smallest value is found and its representative is returned, rounded
to whole milliseconds. So a reported percentile is within 1% of the exact one, plus at most 0.5 ms
of rounding (values under 50 ms come out exact).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

RELATIVE_ACCURACY = 0.01
GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
LOG_GAMMA = math.log(GAMMA)
ZERO_BUCKET = -(2**31)


def bucket(value: float) -> int:
    """The bucket index of ``value`` (``ZERO_BUCKET`` for values <= 0)."""
    if value <= 0:
        return ZERO_BUCKET
    return math.ceil(math.log(value) / LOG_GAMMA)


def representative(index: int) -> float:
    """The value a bucket reports: within RELATIVE_ACCURACY of everything in it."""
    if index == ZERO_BUCKET:
        return 0.0
    return 2 * GAMMA**index / (GAMMA + 1)


def merge(into: dict[int, int], other: Mapping[int, int]) -> dict[int, int]:
    """Add ``other``'s counts to ``into`` (returned)."""
    for index, count in other.items():
        into[index] = into.get(index, 0) + count
    return into


def from_values(values: Iterable[float]) -> dict[int, int]:
    result: dict[int, int] = {}
    for value in values:
        index = bucket(value)
        result[index] = result.get(index, 0) + 1
    return result


def count(histogram: Mapping[int, int]) -> int:
    return sum(histogram.values())


def percentile(
    histogram: Mapping[int, int],
    fraction: float,
    bounds: Mapping[int, tuple[float, float]] | None = None,
) -> int | None:
    """Nearest-rank percentile (None when empty), within 1% of the exact one (+0.5 ms rounding).

    ``bounds`` (smallest and largest value seen per bucket) narrow the answer: the representative
    is clamped into them, which can only bring it closer, and is exact when they are equal.
    """
    total = count(histogram)
    if total == 0:
        return None
    rank = max(1, math.ceil(fraction * total))
    seen = 0
    for index in sorted(histogram):
        seen += histogram[index]
        if seen >= rank:
            value = representative(index)
            if bounds is not None and index in bounds:
                lo, hi = bounds[index]
                value = min(max(value, lo), hi)
            return round(value)
    raise AssertionError("unreachable: the ranks add up to the total")
