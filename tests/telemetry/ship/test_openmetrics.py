"""The OpenMetrics exposition of the telemetry: parsed back by prometheus_client's parser."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

from prometheus_client.openmetrics.parser import text_string_to_metric_families

from nexus_cli.telemetry.db import store
from nexus_cli.telemetry.ship import openmetrics
from nexus_cli.telemetry.ship.openmetrics import Family
from tests.conftest import run_nexus


def _parsed(text: str) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    return {
        family.name: [(s.name, s.labels, s.value) for s in family.samples]
        for family in text_string_to_metric_families(text)
    }


def test_invocations_count_each_command_and_outcome() -> None:
    for args in (["version"], ["version"], ["nope"]):
        run_nexus(*args)
    with store.opened() as db:
        text = openmetrics.render(openmetrics.command_families(db))
    samples = _parsed(text)["nexus_invocations"]
    counts = {(labels["command"], labels["success"]): value for _, labels, value in samples}
    assert counts[("version", "true")] == 2
    # `nexus nope` names no command: an empty label, as for a missing command everywhere
    assert counts[("", "false")] == 1 and "\x00" not in text and text.endswith("# EOF\n")


def test_label_values_are_escaped_and_parse_back() -> None:
    nasty = 'a "quoted"\\ back\nslash'
    family = Family("nexus_invocations", "counter", "help with \\ and\nline")
    family.samples.append(("_total", {"command": nasty, "success": "true"}, 3))
    samples = _parsed(openmetrics.render([family]))["nexus_invocations"]
    assert samples == [("nexus_invocations_total", {"command": nasty, "success": "true"}, 3.0)]


def test_histogram_buckets_are_cumulative_and_exact_for_known_values() -> None:
    values_s = [0.004, 0.005, 0.2, 3.0, 3.0, 1000.0]
    samples = openmetrics.histogram_samples({"command": "x"}, ((v, 1) for v in values_s), 1.0)
    family = Family("nexus_x_seconds", "histogram", "x", unit="seconds", samples=samples)
    parsed = _parsed(openmetrics.render([family]))["nexus_x_seconds"]
    buckets = {float(labels["le"]): v for name, labels, v in parsed if name.endswith("_bucket")}
    for bound, count in buckets.items():
        assert count == sum(1 for v in values_s if v <= bound), bound
    assert buckets[math.inf] == len(values_s)
    assert ("nexus_x_seconds_count", {"command": "x"}, 6.0) in parsed


def test_duration_histograms_match_the_roll_ups(filled: Path) -> None:
    with store.opened() as db:
        text = openmetrics.render(openmetrics.command_families(db))
    parsed = _parsed(text)["nexus_command_duration_seconds"]
    counts = {labels["command"]: v for name, labels, v in parsed if name.endswith("_count")}
    conn = sqlite3.connect(filled)
    expected = dict(
        conn.execute("SELECT command, sum(n) FROM rollup_durations GROUP BY command").fetchall()
    )
    # each sketch bucket counts at the first bound at or above its largest value
    at_most_1s = dict(
        conn.execute(
            "SELECT command, sum(n) FROM (SELECT command, bucket, sum(n) AS n, max(hi) AS hi "
            "FROM rollup_durations GROUP BY command, bucket) WHERE hi <= 1000 GROUP BY command"
        ).fetchall()
    )
    straddling = conn.execute(
        "SELECT count(*) FROM (SELECT max(hi) AS hi, min(lo) AS lo FROM rollup_durations "
        "GROUP BY command, bucket) WHERE lo <= 1000 AND hi > 1000"
    ).fetchone()[0]
    conn.close()
    assert counts == {k: float(v) for k, v in expected.items()} and counts
    at_one_s = {
        labels["command"]: v
        for name, labels, v in parsed
        if name.endswith("_bucket") and labels["le"] == "1.0"
    }
    assert at_one_s == {c: float(at_most_1s.get(c, 0)) for c in counts}
    assert straddling <= len(counts)  # at most one 1% bucket per command holds the bound
