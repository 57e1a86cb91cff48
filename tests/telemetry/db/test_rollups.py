"""Roll-ups against brute force: random events, any window, incremental folds, prune, rebuild,
and two processes folding at once (real SQLite files)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nexus_cli.telemetry.db import retention, rollup_marks, rollups, store
from nexus_cli.telemetry.db.handle import Db
from nexus_cli.telemetry.db.rollups import TABLES
from nexus_cli.telemetry.db.schema import stamp
from nexus_cli.telemetry.query import insights, stats
from nexus_cli.telemetry.query.window import Window

NOW = datetime(2026, 11, 20, 13, 37, 21, 250000, tzinfo=UTC)
SPAN_MS = 6 * 86400 * 1000
COMMANDS = [None, "workspace create", "workspace logs", "workspace shell", "task list", "doctor"]
INSERT = (
    "INSERT INTO events (timestamp, session_id, event_type, command, duration_ms, success, "
    "error_category, template_used, raw_data) VALUES (?, ?, 'command', ?, ?, ?, ?, ?, ?)"
)

signal = st.one_of(
    st.builds(lambda p: {"kind": "port_conflict", "port": p}, st.sampled_from([3000, 5432])),
    st.builds(lambda r: {"kind": "task_rejected", "reason_hash": r}, st.sampled_from("abc")),
    st.builds(
        lambda a: {"kind": "workspace_deleted", "age_s": a},
        st.one_of(st.integers(0, 900), st.floats(0, 900)),
    ),
)
raw = st.one_of(
    st.none(),
    st.builds(
        lambda options, counts, signals: json.dumps(
            {
                **({"options": options} if options else {}),
                **({"counts": counts} if counts else {}),
                **({"signals": signals} if signals else {}),
            }
        ),
        st.sampled_from([[], ["follow"], ["json"]]),
        st.dictionaries(
            st.sampled_from(["workspaces_created", "tasks_completed"]), st.integers(0, 2)
        ),
        st.lists(signal, max_size=2),
    ),
)
event = st.tuples(
    st.sampled_from(["s1", "s2", "s3", "s4", "s5", "s6"]),
    st.sampled_from(COMMANDS),
    st.one_of(
        st.none(),
        st.integers(0, 60),
        st.integers(0, 5000),
        st.floats(1, 200_000).map(int),
    ),
    st.sampled_from([1, 1, 1, 0, None]),
    st.sampled_from([None, "usage", "port_conflict", "docker_unavailable"]),
    st.sampled_from([None, None, "bare", "node"]),
    raw,
)
# distinct offsets (ms before NOW): retry pairs and "first seen" do not depend on tie order
batch = st.lists(st.tuples(st.integers(0, SPAN_MS), event), max_size=120, unique_by=lambda t: t[0])
moment = st.integers(0, SPAN_MS + 86400 * 1000)


def _ts(offset_ms: int) -> str:
    return stamp(NOW - timedelta(milliseconds=offset_ms))


def _insert(path: str, events: list[tuple[int, tuple[Any, ...]]], taken: set[int]) -> None:
    rows = []
    for offset, (session, command, duration, success, category, template, data) in events:
        if offset in taken:
            continue
        taken.add(offset)
        category = category if success == 0 else None
        rows.append((_ts(offset), session, command, duration, success, category, template, data))
    with store.migrated(path) as db, db.atomic():  # a plain writer: it folds nothing
        db.conn.executemany(INSERT, rows)
        db.conn.executemany(
            "INSERT OR IGNORE INTO sessions (session_id, duration_ms) VALUES (?, ?)",
            [(f"s{i}", i * 1000) for i in range(1, 5)],
        )


def _window(a: int, b: int) -> Window:
    low, high = sorted((a, b))
    return Window(_ts(high), _ts(low - 1), "test")


def _close(approx: int | None, exact: int | None) -> bool:
    if approx is None or exact is None:
        return approx == exact
    return abs(approx - exact) <= 0.01 * exact + 0.5


def _check_stats(db: Db, window: Window) -> None:
    rolled, exact = stats.compute(db, window), stats.compute(db, window, exact=True)
    assert stats.compute(db, window) == rolled  # again, the past days from rollup_cache
    assert {k: v for k, v in rolled.items() if k != "commands"} == {
        k: v for k, v in exact.items() if k != "commands"
    }
    assert len(rolled["commands"]) == len(exact["commands"])
    for r, e in zip(rolled["commands"], exact["commands"], strict=True):
        assert {**r, "median_ms": 0, "p95_ms": 0} == {**e, "median_ms": 0, "p95_ms": 0}
        assert _close(r["median_ms"], e["median_ms"]) and _close(r["p95_ms"], e["p95_ms"]), (r, e)


def _check_insights(db: Db, window: Window) -> None:
    rolled = {p.key: p for p in insights.detect(db, window)}
    exact = {p.key: p for p in insights.detect(db, window, exact=True)}
    for key in set(rolled) | set(exact):
        if key.startswith("slow:"):  # p95 near the threshold may land on either side
            if key in rolled and key in exact:
                assert rolled[key].frequency >= exact[key].frequency
            continue
        r, e = rolled[key], exact[key]
        assert (r.description, r.frequency, r.first_seen, r.last_seen, r.suggested_fix) == (
            e.description,
            e.frequency,
            e.first_seen,
            e.last_seen,
            e.suggested_fix,
        )
        assert set(r.sessions) <= {ev for ev in ("s1", "s2", "s3", "s4", "s5", "s6")}
        assert len(r.sessions) == len(e.sessions)


def _tables(db: Db) -> dict[str, list[tuple[Any, ...]]]:
    return {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall()) for t in TABLES}


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    first=batch, second=batch, windows=st.lists(st.tuples(moment, moment), min_size=1, max_size=3)
)
def test_rollups_match_brute_force_over_random_events(
    first: list[tuple[int, tuple[Any, ...]]],
    second: list[tuple[int, tuple[Any, ...]]],
    windows: list[tuple[int, int]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path, taken = str(Path(tmp) / "telemetry.db"), set[int]()
        _insert(path, first, taken)
        with store.migrated(path) as db:
            assert rollups.fold(db) == len(taken)
            for a, b in windows:  # fills rollup_cache, which the second batch must invalidate
                _check_insights(db, _window(a, b))
        _insert(path, second, taken)  # folded incrementally by the reads below
        with store.opened(path) as db:
            for a, b in windows:
                _check_stats(db, _window(a, b))
                _check_insights(db, _window(a, b))
            assert rollups.fold(db) == 0
            assert sum(r[0] for r in db.execute("SELECT n FROM rollup_commands")) == len(taken)
            folded = _tables(db)
            rollups.rebuild(db)
            assert _tables(db) == folded  # rebuilding gives what folding gave
            rollups.rebuild(db)
            assert _tables(db) == folded  # and is idempotent


@settings(max_examples=30, deadline=None)
@given(
    events=batch,
    age_ms=st.integers(0, SPAN_MS),
    windows=st.lists(st.tuples(moment, moment), min_size=1, max_size=2),
)
def test_pruning_keeps_rollups_equal_to_the_events_left(
    events: list[tuple[int, tuple[Any, ...]]], age_ms: int, windows: list[tuple[int, int]]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "telemetry.db")
        _insert(path, events, set())
        with store.opened(path) as db:
            rollups.fold(db)
            retention.prune_older_than(db, age_ms / 86400_000, now=NOW)
            pruned = _tables(db)
            for a, b in windows:
                _check_stats(db, _window(a, b))
            rollups.rebuild(db)
            assert _tables(db) == pruned


def test_purging_everything_then_recording_again_rebuilds(tmp_path: Path) -> None:
    path = str(tmp_path / "telemetry.db")
    event = ("s1", "doctor", 100, 1, None, None, None)
    _insert(path, [(i * 1000, event) for i in range(50)], set())
    with store.migrated(path) as db:
        assert rollups.fold(db) == 50
        retention.purge_all(db)
    _insert(path, [(i * 1000, event) for i in range(3)], set())  # ids start again at 1
    with store.opened(path) as db:
        assert stats.compute(db, _window(0, SPAN_MS))["invocations"] == 3
        assert db.execute("SELECT sum(n) FROM rollup_commands").fetchone()[0] == 3


FOLD = """
import sys
from nexus_cli.telemetry.db import rollups, store
with store.migrated(sys.argv[1]) as db:
    print(rollups.fold(db))
"""


def test_two_processes_folding_at_once_count_every_event_once(tmp_path: Path) -> None:
    path = str(tmp_path / "telemetry.db")
    event = ("s1", "doctor", 100, 0, "usage", "bare", None)
    _insert(path, [(i, event) for i in range(60_000)], set())
    folders = [
        subprocess.Popen([sys.executable, "-c", FOLD, path], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    _insert(path, [(60_000 + i, event) for i in range(500)], set())  # a writer meanwhile
    folded = sorted(int(p.communicate()[0]) for p in folders)
    assert all(p.returncode == 0 for p in folders)
    with store.opened(path) as db:
        rollups.fold(db)
        assert folded[0] >= 0 and sum(folded) <= 60_500
        assert db.execute("SELECT sum(n), sum(failed) FROM rollup_commands").fetchone() == (
            60_500,
            60_500,
        )
        seen = db.execute("SELECT sum(n) FROM rollup_seen WHERE kind = 'template'").fetchone()
        assert seen == (60_500,)
        once = _tables(db)
        rollups.rebuild(db)
        assert _tables(db) == once


def test_a_damaged_generation_mark_is_replaced_wherever_it_is_bumped(tmp_path: Path) -> None:
    """Pruning bumps the generation without a fold first: a mark that is not a number is
    replaced by a new generation (and the cache computed at the old one emptied)."""
    path = str(tmp_path / "t.db")
    now = datetime.now(UTC)
    with store.migrated(path) as db, db.atomic():
        for moment in (now - timedelta(days=10), now - timedelta(hours=1)):
            db.execute(INSERT, [stamp(moment), "s1", "doctor", 5, 1, None, None, None])
    with store.opened(path) as db:
        db.execute("INSERT INTO rollup_cache VALUES ('days:a/b', 7, '[]')")
        db.execute(
            "UPDATE maintenance SET value = 'junk' WHERE key = ?", [rollup_marks.GENERATION_KEY]
        )
        assert retention.prune_older_than(db, 5)["events"] == 1
        assert rollup_marks.generation(db) == 1
        assert db.execute("SELECT count(*) FROM rollup_cache").fetchone()[0] == 0


class _InterruptAfterBegin:
    """A connection that raises KeyboardInterrupt just after its ``n``-th ``BEGIN IMMEDIATE``
    (what Ctrl-C between the statement and the next line of Python does)."""

    def __init__(self, conn: Any, n: int) -> None:
        self._conn, self._left = conn, n

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def execute(self, sql: str, *args: Any) -> Any:
        cursor = self._conn.execute(sql, *args)
        if sql == "BEGIN IMMEDIATE":
            self._left -= 1
            if self._left == 0:
                raise KeyboardInterrupt
        return cursor


def test_an_interrupt_just_after_begin_leaves_no_transaction_open(tmp_path: Path) -> None:
    with store.migrated(str(tmp_path / "t.db")) as db:
        conn = db.conn
        db.conn = _InterruptAfterBegin(conn, 1)  # type: ignore[assignment]
        try:
            atomic = db.atomic()
            try:
                atomic.__enter__()
            except KeyboardInterrupt:
                pass
            else:
                raise AssertionError("no interrupt")
        finally:
            db.conn = conn
        assert not conn.in_transaction


def test_a_fold_interrupted_between_two_chunks_stops_with_the_interrupt_and_goes_on_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C during a build: the interrupt itself comes out (not an error about the state it
    left), and the next fold finishes what the build began."""
    path = str(tmp_path / "t.db")
    now = datetime.now(UTC)
    with store.migrated(path) as db, db.atomic():
        db.conn.executemany(
            INSERT,
            [
                (
                    stamp(now - timedelta(hours=i)),
                    f"s{i % 5}",
                    "doctor",
                    10 + i,
                    1,
                    None,
                    None,
                    None,
                )
                for i in range(30)
            ],
        )
    monkeypatch.setattr(rollups, "BUILD_CHUNK", 7)
    with store.migrated(path) as db:
        expected = rollups.rebuild(db, show_progress=False)["rows"]
        conn = db.conn
        db.conn = _InterruptAfterBegin(conn, 3)  # type: ignore[assignment]
        try:
            with pytest.raises(KeyboardInterrupt):
                rollups.rebuild(db, show_progress=False)
        finally:
            db.conn = conn
        assert not conn.in_transaction
        assert rollups.fold(db, show_progress=False) > 0
        assert {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES} == (
            expected
        )


def test_an_interrupt_that_leaves_a_transaction_open_stays_an_interrupt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C between two statements of a fold can leave a transaction open; restoring
    ``temp_store`` there fails, and that error used to replace the interrupt (and the command
    said the database was damaged)."""
    path = str(tmp_path / "telemetry.db")
    _insert(path, [(i * 1000, ("s1", "doctor", 100, 1, None, None, None)) for i in range(5)], set())

    def interrupted(db: Db) -> bool:
        db.conn.execute("BEGIN")
        raise KeyboardInterrupt

    monkeypatch.setattr(rollups, "retries_pending", interrupted)
    with store.migrated(path) as db, pytest.raises(KeyboardInterrupt):
        rollups.fold(db)
