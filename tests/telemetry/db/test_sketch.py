"""The duration histogram: percentiles within the stated bound of nearest-rank, merging adds."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from nexus_cli.telemetry.db import sketch

durations = st.lists(
    st.one_of(st.integers(0, 100), st.integers(0, 10**7), st.floats(1, 1e7).map(int)), min_size=1
)
fractions = st.sampled_from([0.0, 0.01, 0.5, 0.9, 0.95, 0.99, 1.0])


def _nearest_rank(values: list[int], fraction: float) -> int:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@given(durations, fractions)
def test_percentiles_are_within_one_percent_plus_rounding(values: list[int], f: float) -> None:
    exact = _nearest_rank(values, f)
    approx = sketch.percentile(sketch.from_values(values), f)
    assert approx is not None and abs(approx - exact) <= 0.01 * exact + 0.5
    if exact < 50:
        assert approx == exact  # a bucket this small holds one whole number


@given(durations, durations, fractions)
def test_merging_two_histograms_is_the_histogram_of_both(
    a: list[int], b: list[int], f: float
) -> None:
    merged = sketch.merge(sketch.from_values(a), sketch.from_values(b))
    assert merged == sketch.from_values(a + b)
    assert sketch.count(merged) == len(a) + len(b)
    exact = _nearest_rank(a + b, f)
    approx = sketch.percentile(merged, f)
    assert approx is not None and abs(approx - exact) <= 0.01 * exact + 0.5


@given(durations, fractions)
def test_bounds_clamp_the_answer_and_make_a_single_value_exact(values: list[int], f: float) -> None:
    histogram = sketch.from_values(values)
    bounds: dict[int, tuple[float, float]] = {}
    for v in values:
        lo, hi = bounds.get(sketch.bucket(v), (v, v))
        bounds[sketch.bucket(v)] = (min(lo, v), max(hi, v))
    exact = _nearest_rank(values, f)
    approx = sketch.percentile(histogram, f, bounds)
    assert approx is not None and abs(approx - exact) <= 0.01 * exact + 0.5
    assert (
        sketch.percentile(
            sketch.from_values([values[0]] * 3),
            f,
            {sketch.bucket(values[0]): (values[0], values[0])},
        )
        == values[0]
    )


def test_an_empty_histogram_has_no_percentile() -> None:
    assert sketch.percentile({}, 0.5) is None
