"""The OpenMetrics exposition of the telemetry: parsed back by prometheus_client's parser."""

from __future__ import annotations

import math
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from nexus_cli.telemetry.db import rollups, store
from nexus_cli.telemetry.db.handle import Db
from nexus_cli.telemetry.db.schema import stamp
from nexus_cli.telemetry.ship import openmetrics
from nexus_cli.telemetry.ship.openmetrics import Family
from tests.conftest import run_nexus


def _parsed(text: str) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    return {
        family.name: [(s.name, s.labels, s.value) for s in family.samples]
        for family in text_string_to_metric_families(text)
    }


def test_invocations_count_each_command_and_outcome() -> None:
    for args in (["version"], ["version"], ["nope"], ["--version"], ["-V"]):
        run_nexus(*args)
    with store.opened() as db:
        text = openmetrics.render(openmetrics.command_families(db))
    samples = _parsed(text)["nexus_invocations"]
    counts = {(labels["command"], labels["success"]): value for _, labels, value in samples}
    assert counts[("version", "true")] == 4  # `--version` is the `version` command
    # `nexus nope` names no command: an empty label, as for a missing command everywhere
    assert counts[("", "false")] == 1 and "\x00" not in text and text.endswith("# EOF\n")


def test_label_values_are_escaped_and_parse_back() -> None:
    nasty = 'a "quoted"\\ back\nslash'
    family = Family("nexus_invocations", "counter", "help with \\ and\nline")
    family.samples.append(("_total", {"command": nasty, "success": "true"}, 3))
    samples = _parsed(openmetrics.render([family]))["nexus_invocations"]
    assert samples == [("nexus_invocations_total", {"command": nasty, "success": "true"}, 3.0)]


def test_control_characters_in_label_values_are_shown_not_sent_to_the_terminal() -> None:
    """A gate command is repository text: its ESC or bidi override would drive the terminal
    that `nexus export --format openmetrics` prints to."""
    family = Family("nexus_gate_runs", "counter", "gate runs")
    family.samples.append(("_total", {"gate": "echo \x1b[2J\u202e; false"}, 2))
    text = openmetrics.render([family])
    assert "\x1b" not in text and "\u202e" not in text
    [(_, labels, _)] = _parsed(text)["nexus_gate_runs"]
    assert labels == {"gate": "echo ^[[2J\\u202e; false"}


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


def _uncached_counts(path: Path) -> dict[str, float]:
    """Each command's duration count over every day of the roll-ups, read directly."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT command, sum(n) FROM rollup_durations GROUP BY command")
        return {str(command): float(n) for command, n in rows}
    finally:
        conn.close()


def _duration_counts(db: Db) -> dict[str, float]:
    parsed = _parsed(openmetrics.render(openmetrics.command_families(db)))
    return {
        labels["command"]: value
        for name, labels, value in parsed["nexus_command_duration_seconds"]
        if name.endswith("_count")
    }


def _record(db: Db, when: datetime, command: str) -> None:
    db.execute(
        "INSERT INTO events (timestamp, session_id, event_type, command, duration_ms, success) "
        "VALUES (?, 's', 'command', ?, 40, 1)",
        [stamp(when), command],
    )
    rollups.fold(db, show_progress=False)


def test_past_days_histograms_are_cached_until_a_past_day_changes(
    filled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The days before today are merged once per roll-up generation (``rollup_cache``); today's
    rows are added at each read; an event folded into a past day, or a damaged cached value,
    makes the next read merge them again."""
    now = datetime.now(UTC)
    monkeypatch.setattr(openmetrics, "_today", lambda: now.date().isoformat())  # even at 0:00
    with store.opened() as db:
        assert _duration_counts(db) == _uncached_counts(filled)
        key = db.execute("SELECT key FROM rollup_cache WHERE key LIKE 'metrics:%'").fetchone()[0]
        # a value only the cache holds shows that the next read takes it from there
        db.execute(
            "UPDATE rollup_cache SET value = '[[\"from-cache\", 0, 7, 1, 1]]' WHERE key = ?", [key]
        )
        assert _duration_counts(db)["from-cache"] == 7
        _record(db, now, "today-only")  # today: added to the cached past days
        counts = _duration_counts(db)
        assert counts["from-cache"] == 7 and counts["today-only"] == 1
        _record(db, now - timedelta(days=3), "doctor")  # a past day changed: merged again
        assert _duration_counts(db) == _uncached_counts(filled)
        for damaged in ("not json", '[["doctor", true, 1, 1, 1]]', '{"a": 1}', "[[1, 2]]"):
            db.execute("UPDATE rollup_cache SET value = ? WHERE key LIKE 'metrics:%'", [damaged])
            assert _duration_counts(db) == _uncached_counts(filled), damaged
