"""Window figures from the roll-ups: the partial days at a window's edges, and their hour cache
(real SQLite files; compared with one fold of the raw events)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nexus_cli import paths
from nexus_cli.telemetry.db import rollup_cache, rollups, store
from nexus_cli.telemetry.db.handle import Db
from nexus_cli.telemetry.db.schema import stamp
from nexus_cli.telemetry.query import aggregate, retries
from tests.conftest import run_nexus

TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
DAY1 = TODAY - timedelta(days=5)
COMMANDS = ("workspace create", "task list", "doctor")


def _fill(path: str, start: datetime, hours: int) -> None:
    """An event every 7 minutes from ``start``: a mix of commands, failures, signals."""
    rows = []
    for i in range(hours * 60 // 7):
        failed = i % 9 == 0
        rows.append(
            (
                stamp(start + timedelta(minutes=7 * i)),
                f"s{i % 13}",
                COMMANDS[i % 3],
                (i * 37) % 5000,
                0 if failed else 1,
                "usage" if failed else None,
                "bare" if i % 11 == 0 else None,
                '{"signals":[{"kind":"port_conflict","port":5432}]}' if i % 5 == 0 else None,
            )
        )
    with store.opened(path) as db, db.atomic():
        db.conn.executemany(
            "INSERT INTO events (timestamp, session_id, event_type, command, duration_ms, "
            "success, error_category, template_used, raw_data) "
            "VALUES (?, ?, 'command', ?, ?, ?, ?, ?, ?)",
            rows,
        )


def _cached_keys(db: Db) -> list[str]:
    return [r[0] for r in db.execute("SELECT key FROM rollup_cache ORDER BY key")]


@pytest.fixture
def path(tmp_path: Path) -> str:
    path = str(tmp_path / "telemetry.db")
    _fill(path, DAY1, 4 * 24)
    return path


def test_an_edge_reads_its_whole_past_hours_from_the_cache(path: str) -> None:
    since = stamp(DAY1 + timedelta(hours=5, minutes=17, seconds=3))
    until = stamp(DAY1 + timedelta(days=2, hours=20, minutes=41))
    with store.opened(path) as db:  # the open folds the new events into the roll-ups
        first = aggregate.part(db, since, until)
        hours = f"hours:{stamp(DAY1 + timedelta(hours=6))}/{stamp(DAY1 + timedelta(days=1))}"
        tail = (
            f"hours:{stamp(DAY1 + timedelta(days=2))}/{stamp(DAY1 + timedelta(days=2, hours=20))}"
        )
        assert hours in _cached_keys(db) and tail in _cached_keys(db)
        assert aggregate.part(db, since, until) == first  # now from the cache
        assert first == aggregate._raw(db, since, until)  # one fold of every raw event


def test_events_folded_into_cached_hours_invalidate_them(path: str) -> None:
    since = stamp(DAY1 + timedelta(hours=2, minutes=30))
    until = stamp(DAY1 + timedelta(days=1, hours=1))
    with store.opened(path) as db:
        before = aggregate.part(db, since, until).commands["doctor"][0]
    late = stamp(DAY1 + timedelta(hours=9, minutes=1))  # inside a cached hour
    with store.opened(path) as db, db.atomic():
        db.execute(
            "INSERT INTO events (timestamp, session_id, event_type, command, duration_ms, "
            "success) VALUES (?, 'late', 'command', 'doctor', 5, 1)",
            [late],
        )
    with store.opened(path) as db:
        after = aggregate.part(db, since, until)
        assert after.commands["doctor"][0] == before + 1
        assert after == aggregate._raw(db, since, until)


def test_hours_of_today_are_never_cached(tmp_path: Path) -> None:
    path = str(tmp_path / "telemetry.db")
    now = datetime.now(UTC)
    _fill(path, TODAY, max(1, now.hour))
    with store.opened(path) as db:
        part = aggregate.part(db, stamp(TODAY + timedelta(minutes=3)), stamp(now))
        assert not [k for k in _cached_keys(db) if k.startswith("hours:")]
        assert part == aggregate._raw(db, stamp(TODAY + timedelta(minutes=3)), stamp(now))


def test_edges_at_the_ends_of_the_calendar_are_read_raw(path: str) -> None:
    with store.opened(path) as db:
        assert (
            aggregate.part(db, "9999-12-31 23:30:00.000", "9999-12-31 23:59:00.000").commands == {}
        )
        assert (
            aggregate.part(db, "0001-01-01 00:00:00.000", "0001-01-01 00:10:00.000").commands == {}
        )


def test_each_kind_of_cache_entry_keeps_only_the_newest(path: str) -> None:
    with store.opened(path) as db:
        rollup_cache.cached_json(db, "days:a/b", lambda: 1)
        for i in range(rollup_cache.KEEP + 5):
            assert rollup_cache.cached_json(db, f"hours:{i:03d}", lambda i=i: i) == i
        keys = _cached_keys(db)
        assert "days:a/b" in keys
        hours = [k for k in keys if k.startswith("hours:")]
        assert hours == [f"hours:{i:03d}" for i in range(5, rollup_cache.KEEP + 5)]


# The roll-ups, their cache and their marks are disposable: damaged, they are computed again.
DAMAGED = [
    "garbage",
    '{"commands": {"doctor": [1, 2',  # truncated
    "[]",
    '{"commands": {"doctor": ["1", 0, 0, 0, 0]}, "durations": [], "seen": []}',
    '{"commands": {}, "durations": [["doctor", 1, 2]], "seen": []}',
    '{"commands": {}, "durations": [], "seen": [["error", "x", 1, "a", "b", "not a list"]]}',
    '{"commands": {}, "durations": [["doctor", 1, true, "a", "b", "s", 1, 2]], "seen": []}',
    '{"commands": {}, "durations": [["doctor", 1, 2, "a", "b", "s", 1, 2], "row"], "seen": []}',
    '{"commands": {}, "durations": {"doctor": 1}, "seen": []}',
    '{"doctor": [1, "a", "b", "c", "d", {}, [[1]]]}',  # a retries summary of the wrong shape
    "[" * 100_000,
]


@pytest.mark.parametrize("junk", DAMAGED)
def test_a_damaged_cache_row_is_computed_again_and_replaced(path: str, junk: str) -> None:
    since, until = stamp(DAY1 + timedelta(hours=5, minutes=17)), stamp(TODAY)
    with store.opened(path) as db:
        first = aggregate.part(db, since, until)
        found = retries.retries(db, since, until)
        keys = _cached_keys(db)
        assert any(k.startswith("days:") for k in keys) and any(
            k.startswith("retries:") for k in keys
        )
        db.execute("UPDATE rollup_cache SET value = ?", [junk])
        assert aggregate.part(db, since, until) == first
        assert retries.retries(db, since, until) == found
        for (value,) in db.execute("SELECT value FROM rollup_cache"):
            assert value != junk


@pytest.mark.parametrize(
    "damage",
    [
        "UPDATE rollup_seen SET sessions = 'garbage'",
        "UPDATE rollup_seen SET sessions = '[1'",
        "UPDATE maintenance SET value = 'x' WHERE key = 'rollup_mark'",
        "UPDATE maintenance SET value = '' WHERE key = 'rollup_generation'",
    ],
)
def test_damaged_roll_up_rows_and_marks_are_rebuilt_from_the_events(path: str, damage: str) -> None:
    since, until = stamp(DAY1 + timedelta(hours=5, minutes=17)), stamp(TODAY)
    with store.opened(path) as db:
        first = aggregate.part(db, since, until)
        db.execute("DELETE FROM rollup_cache")
        db.execute(damage)
    late = stamp(DAY1 + timedelta(hours=9, minutes=1))
    with store.opened(path) as db, db.atomic():  # one more event to fold into damaged roll-ups
        db.execute(
            "INSERT INTO events (timestamp, session_id, event_type, command, duration_ms, "
            "success, error_category) VALUES (?, 'late', 'command', 'doctor', 5, 0, 'usage')",
            [late],
        )
    with store.opened(path) as db:
        after = aggregate.part(db, since, until)
        assert after.commands["doctor"][0] == first.commands["doctor"][0] + 1
        assert after == aggregate._raw(db, since, until)
        assert rollups.mark(db) == db.execute("SELECT max(id) FROM events").fetchone()[0]


def test_stats_reads_through_every_damage_at_once_with_the_same_figures() -> None:
    path = str(paths.telemetry_db_path())
    _fill(path, DAY1, 4 * 24)
    first = run_nexus("--no-telemetry", "stats", "--week", "--json")
    assert first.exit_code == 0, first.stderr
    with store.opened(path) as db:
        for sql in (
            "UPDATE rollup_cache SET value = '{\"commands\": {'",
            "UPDATE rollup_seen SET sessions = 'garbage'",
            "UPDATE maintenance SET value = 'x' WHERE key = 'rollup_mark'",
            "UPDATE maintenance SET value = 'y' WHERE key = 'rollup_generation'",
        ):
            assert db.execute(sql).rowcount > 0, sql
    again = run_nexus("--no-telemetry", "stats", "--week", "--json")
    assert again.exit_code == 0, again.stderr
    assert {k: v for k, v in again.json().items() if k != "window"} == {
        k: v for k, v in first.json().items() if k != "window"
    }
