"""The SQL roll-up fold against the Python one, byte for byte, on edge cases and synthetic
history (real SQLite files); and an interrupted rebuild that the next fold completes."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from nexus_cli.telemetry.db import (
    quarantine,
    rollup_checks,
    rollup_marks,
    rollup_sql,
    rollups,
    sketch,
    store,
    synthetic,
)
from nexus_cli.telemetry.db.handle import Db
from nexus_cli.telemetry.db.rollup_fold import EVENT_SELECT, Accumulator, retry_pairs
from nexus_cli.telemetry.db.schema import EVENT_COLUMNS, stamp

COLUMNS = (
    "timestamp, session_id, command, duration_ms, success, error_category, template_used, raw_data"
)
INSERT = f"INSERT INTO events ({COLUMNS}, event_type) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'command')"
START = (datetime.now(UTC) - timedelta(days=20)).replace(hour=0, minute=0, second=0, microsecond=0)


def _at(days: float, ms: int = 0) -> str:
    return stamp(START + timedelta(days=days, milliseconds=ms))


def _raw(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


# Rows SQL leaves to Python: an escape, numbers beyond 2**53 (in any signal of a row that
# names a kind the roll-ups count), reasons that are not text or a whole number.
_ODD_RAW = [
    '{"signals":[{"kin\\u0064":"port_conflict","port":1}]}',
    _raw({"signals": [{"kind": "task_rejected", "reason_hash": 1.5}]}),
    _raw({"signals": [{"kind": "task_rejected", "reason_hash": {"b": [1, 2]}}]}),
    _raw({"signals": [{"kind": "workspace_deleted", "age_s": -1e300}]}),
    _raw({"signals": [{"kind": "port_conflict", "port": 2**60}]}),
    _raw({"signals": [{"kind": "gate_run", "age_s": 2**54}, {"kind": "port_conflict", "port": 1}]}),
]


def _edge_rows() -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    add = rows.append
    # durations on and next to bucket boundaries, zero, negative, NULL
    for i, power in enumerate((1, 35, 70, 200, 350, 460, 600, 800)):
        edge = round(sketch.GAMMA**power)
        for j, value in enumerate((edge - 1, edge, edge + 1)):
            add((_at(1, 1000 * i + j), "s-b", "doctor", value, 1, None, None, None))
    for j, value in enumerate((0, -5, None, 1, 2**40)):
        add((_at(1, 20_000 + j), "s-b", "task list", value, 1, None, None, None))
    # a day's last and next day's first millisecond
    add((_at(2, -1), "s-d", "doctor", 10, 1, None, None, None))
    add((_at(2), "s-d", "doctor", 11, 1, None, None, None))
    # NULL command, success and category; failures per category; sessions beyond the 20 kept
    add((_at(3, 1), "s-n", None, 5, None, None, None, None))
    add((_at(3, 2), "s-n", None, None, 0, None, None, None))
    add((_at(3, 3), "s-n", "doctor", 7, 0, None, "bare", None))
    for k in range(25):
        add(
            (
                _at(3, 100 + k),
                f"s-{k:02d}é",
                "workspace up",
                900 + k,
                0,
                "port_conflict",
                None,
                None,
            )
        )
    add((_at(3, 200), "日本", "workspace up", 900, 0, "usage", None, None))
    # interactive runs: always, with the option, options of other shapes
    for options in (None, ["watch"], ["json"], "watch", [1, "watch"], {"watch": 1}):
        raw = None if options is None else _raw({"options": options})
        add((_at(4, len(rows)), "s-i", "dashboard", 300, 1, None, None, raw))
    add((_at(4, 50), "s-i", "workspace logs", 300, 1, None, None, _raw({"options": ["follow"]})))
    add((_at(4, 51), "s-i", "workspace shell", 300, 1, None, None, None))
    add((_at(4, 52), "s-i", "gpu monitor", 300, 1, None, None, None))
    # templates
    for k, template in enumerate(("bare", "node", "bare", None)):
        add((_at(5, k), "s-t", "workspace create", 6000, 1, None, template, None))
    # signals of every shape the roll-ups read
    signals = [
        {"kind": "port_conflict", "port": 3000},
        {"kind": "port_conflict", "port": True},
        {"kind": "port_conflict", "port": 3000.5},
        {"kind": "port_conflict", "port": "3000"},
        {"kind": "task_rejected", "reason_hash": "abc"},
        {"kind": "task_rejected"},
        {"kind": "task_rejected", "reason_hash": None},
        {"kind": "task_rejected", "reason_hash": False},
        {"kind": "task_rejected", "reason_hash": 42},
        {"kind": "workspace_deleted", "age_s": 599},
        {"kind": "workspace_deleted", "age_s": 600},
        {"kind": "workspace_deleted", "age_s": 599.9},
        {"kind": "workspace_deleted", "age_s": -0.5},
        {"kind": "workspace_deleted", "age_s": True},
        {"kind": "workspace_deleted", "age_s": "30"},
        {"kind": 5},
        "not an object",
    ]
    for k, signal in enumerate(signals):
        add(
            (
                _at(6, k),
                f"s-g{k % 3}",
                "task approve",
                100,
                1,
                None,
                None,
                _raw({"signals": [signal, signal]}),
            )
        )
    # rows SQL leaves to Python (rollup_checks.Odd): escapes, big numbers, reasons that are
    # objects
    for k, raw in enumerate(_ODD_RAW):
        add((_at(7, k), "s-o", "task approve", 100, 1, None, None, raw))
    # counts: added, absent, null; bad ones are quarantined; repeated keys: the first counts
    counts: list[Any] = [
        {"workspaces_created": 1},
        {"tasks_completed": 2, "workspaces_created": 0},
        None,
        {"workspaces_created": -1},
        {"workspaces_created": 2**31},
        {"tasks_completed": 1.0},
        {"tasks_completed": None},
        {"tasks_completed": True},
        [1],
        "three",
    ]
    for k, value in enumerate(counts):
        add((_at(8, k), "s-c", "workspace create", 5000, 1, None, None, _raw({"counts": value})))
    add(
        (
            _at(8, 50),
            "s-c",
            "doctor",
            5,
            1,
            None,
            None,
            '{"counts":{"tasks_completed":1},"counts":{"tasks_completed":2}}',
        )
    )
    for k, raw in enumerate(("[1,2]", '"x"', "3", "{}", '{"options":["watch"],"options":[]}')):
        add((_at(8, 100 + k), "s-c", "dashboard", 40, 1, None, None, raw))
    # rows the roll-ups cannot take (quarantined): short timestamp, raw data not JSON, text
    add(("2026-01-01", "s-q", "doctor", 5, 1, None, None, None))
    add((_at(9), "s-q", "doctor", 5, 1, None, None, "{not json"))
    add((_at(9, 1), "s-q", "doctor", "5 ms", 1, None, None, None))
    # retries: the same command within 120 s (exactly 120.000 s counts, 120.001 s does not),
    # the next event is the first of the next later timestamp (ties in id order)
    add((_at(10), "s-r", "workspace up", 100, 0, "port_conflict", None, None))
    add((_at(10, 120_000), "s-r", "workspace up", 100, 1, None, None, None))
    add((_at(10, 200_000), "s-r", "workspace up", 100, 0, "usage", None, None))
    add((_at(10, 320_001), "s-r", "workspace up", 100, 1, None, None, None))
    add((_at(10, 400_000), "s-r", "task list", 100, 0, None, None, None))
    add((_at(10, 400_000), "s-r", "doctor", 100, 1, None, None, None))
    add((_at(10, 400_500), "s-r", "task list", 100, 1, None, None, None))
    add((_at(10, 500_000), "s-r", "doctor", 100, 0, None, None, None))
    add((_at(10, 500_100), "s-r", "stats", 100, 1, None, None, None))
    add((_at(10, 500_100), "s-r", "doctor", 100, 1, None, None, None))
    add((_at(11, -1000), "s-r", None, 100, 0, None, None, None))
    add((_at(11), "s-r", None, 100, 0, None, None, None))
    return rows


def _make(path: Path) -> None:
    """Edge cases plus a few thousand synthetic events, in an order that mixes days."""
    with store.migrated(str(path)) as db, db.atomic():
        edges = _edge_rows()
        db.conn.executemany(INSERT, edges[::2])
        synthetic_rows = [
            event
            for event, _ in synthetic.generate(4000, 15, seed=3, now=START.timestamp() + 19 * 86400)
            if event is not None
        ]
        columns = ", ".join(EVENT_COLUMNS)
        marks = ", ".join("?" for _ in EVENT_COLUMNS)
        db.conn.executemany(f"INSERT INTO events ({columns}) VALUES ({marks})", synthetic_rows)
        db.conn.executemany(INSERT, edges[1::2])


def _python_fold(db: Db) -> None:
    """The roll-ups as the Python fold made them: every event through the Accumulator, retry
    pairs per session (rollup_fold.retry_pairs)."""
    with db.atomic():
        top = db.execute("SELECT max(id) FROM events").fetchone()[0]
        rollups._quarantine_bad_events(db, 0, top)
        acc = Accumulator(reject=quarantine.counts_problem)
        acc.add_all(db.execute(f"{EVENT_SELECT} ORDER BY id"))
        quarantine.move_events(db.conn, {i: (why, None) for i, why in acc.rejected.items()})
        rollups.write(db, acc)
        db.execute(
            "INSERT OR IGNORE INTO rollup_sessions SELECT DISTINCT substr(timestamp, 1, 10), "
            "session_id FROM events"
        )
        sessions = [r[0] for r in db.execute("SELECT DISTINCT session_id FROM events")]
        for session in sessions:
            events = db.execute(
                "SELECT id, timestamp, command, success, error_category FROM events "
                "WHERE session_id = ? ORDER BY timestamp, id",
                [session],
            ).fetchall()
            db.conn.executemany(
                "INSERT INTO rollup_retries VALUES (?, ?, ?, ?, ?, ?)", retry_pairs(session, events)
            )
        rollup_marks.set_mark(db, top)


def _state(db: Db) -> dict[str, list[tuple[Any, ...]]]:
    """Every roll-up row, the events left and what was quarantined (but when)."""
    tables = {
        t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in rollups.TABLES
    }
    tables["events"] = db.execute("SELECT id FROM events ORDER BY id").fetchall()
    tables["quarantine"] = db.execute(
        "SELECT source, reason, data FROM quarantine ORDER BY data"
    ).fetchall()
    tables["counters"] = db.execute(
        "SELECT key, value FROM maintenance WHERE key LIKE 'quarantine:%' ORDER BY key"
    ).fetchall()
    return tables


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    made = tmp_path / "made.db"
    _make(made)
    copy = tmp_path / "copy.db"
    shutil.copy(made, copy)
    return made, copy


@pytest.mark.parametrize("chunk", [rollups.BUILD_CHUNK, 7])
def test_sql_rebuild_gives_the_python_folds_tables_byte_for_byte(
    pair: tuple[Path, Path], chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    python_db, sql_db = pair
    with store.migrated(str(python_db)) as db:
        _python_fold(db)
        expected = _state(db)
    monkeypatch.setattr(rollups, "BUILD_CHUNK", chunk)  # groups merged across chunks too
    with store.migrated(str(sql_db)) as db:
        result = rollups.rebuild(db, show_progress=False)
        got = _state(db)
        assert not rollups.retries_pending(db)
    assert result["events"] == len(expected["events"])
    for table in expected:
        assert got[table] == expected[table], table
    # every kind of edge was exercised
    assert expected["rollup_retries"] and len(expected["quarantine"]) >= 10
    kinds = {row[1] for row in expected["rollup_seen"]}
    assert kinds == {"error", "template", "port", "rejection", "short", "age"}


def test_incremental_sql_folds_match_one_python_fold(pair: tuple[Path, Path]) -> None:
    """Folding in small chunks after the first build (per-session retries) gives the same."""
    python_db, sql_db = pair
    with store.migrated(str(python_db)) as db:
        _python_fold(db)
        expected = _state(db)
    with store.migrated(str(sql_db)) as db:
        top = db.execute("SELECT max(id) FROM events").fetchone()[0]
        with db.atomic():
            rollup_marks.put(db, rollup_marks.MARK_KEY, 0)
        for low in range(0, top, 997):  # as reads fold new events: CHUNK ids at a time
            with db.atomic():
                rollups._quarantine_bad_events(db, low, min(low + 997, top))
                rollups.fold_ids(db, low, min(low + 997, top))
                rollup_marks.set_mark(db, min(low + 997, top))
        assert _state(db) == expected


def test_more_than_a_thousand_odd_rows_in_a_chunk_go_to_python(tmp_path: Path) -> None:
    """Past 1,000 odd rows a chunk lists them in a temporary table, both to leave them out of
    the SQL fold and to hand them to the Python one: the tables still match."""
    made = tmp_path / "made.db"
    with store.migrated(str(made)) as db, db.atomic():
        odd = [_ODD_RAW[k % len(_ODD_RAW)] for k in range(1_200)]
        db.conn.executemany(
            INSERT,
            [
                (_at(k % 5, k), f"s-{k % 30}", "task approve", 100 + k, k % 2, None, None, raw)
                for k, raw in enumerate([*odd, *[None] * 300])
            ],
        )
    copy = tmp_path / "copy.db"
    shutil.copy(made, copy)
    with store.migrated(str(made)) as db:
        _python_fold(db)
        expected = _state(db)
    with store.migrated(str(copy)) as db:
        rollups.rebuild(db, show_progress=False)
        assert _state(db) == expected
    assert sum(row[2] for row in expected["rollup_commands"]) == 1_500


def test_odd_rows_go_to_python(pair: tuple[Path, Path]) -> None:
    _, path = pair
    with store.migrated(str(path)) as db, db.atomic():
        top = db.execute("SELECT max(id) FROM events").fetchone()[0]
        odd = rollup_checks.copy_and_check(db, 0, top)
        kept = db.execute(f"SELECT raw_data FROM events WHERE 1 {odd.only}").fetchall()
        plain = db.execute(f"SELECT count(*) FROM events WHERE 1 {odd.skip}").fetchone()
    assert sorted(raw for (raw,) in kept) == sorted(_ODD_RAW)  # those of _edge_rows
    assert plain[0] > 4000


class Interrupt(BaseException):
    pass


def test_an_interrupted_rebuild_is_completed_by_the_next_fold(
    pair: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    python_db, sql_db = pair
    with store.migrated(str(python_db)) as db:
        _python_fold(db)
        expected = _state(db)
    monkeypatch.setattr(rollups, "BUILD_CHUNK", 1000)
    real, calls = rollup_sql.fold_range, []

    def third_chunk_interrupted(db: Db, low: int, end: int) -> Any:
        calls.append(low)
        if len(calls) == 3:
            raise Interrupt
        return real(db, low, end)

    monkeypatch.setattr(rollup_sql, "fold_range", third_chunk_interrupted)
    with store.migrated(str(sql_db)) as db:
        with pytest.raises(Interrupt):
            rollups.rebuild(db, show_progress=False)
        assert rollups.mark(db) == 2000  # two chunks committed, the third rolled back
        assert rollups.retries_pending(db)
    monkeypatch.setattr(rollup_sql, "fold_range", real)
    with store.opened(str(sql_db)) as db:  # the next read folds the rest
        assert _state(db) == expected
        assert not rollups.retries_pending(db)


def test_an_interrupted_final_retries_step_is_repeated(
    pair: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    python_db, sql_db = pair
    with store.migrated(str(python_db)) as db:
        _python_fold(db)
        expected = _state(db)

    def interrupted(conn: Any, top: int) -> Any:
        raise Interrupt

    monkeypatch.setattr(rollup_sql, "add_retry_rows", interrupted)
    with store.migrated(str(sql_db)) as db, pytest.raises(Interrupt):
        rollups.rebuild(db, show_progress=False)
    monkeypatch.undo()
    with store.opened(str(sql_db)) as db:
        assert _state(db) == expected


def test_an_event_whose_session_is_missing_from_strings_is_quarantined(tmp_path: Path) -> None:
    """The fast check leaves the session lookup to the grouping pass; an event it drops (a
    damaged database) is found by its group, whose session is NULL, and moved aside, the rest
    folded."""
    path = tmp_path / "t.db"
    with store.migrated(str(path)) as db:
        with db.atomic():
            db.conn.executemany(
                INSERT,
                [
                    (_at(1, i), f"s-{i % 3}", "doctor", 10 + i, 1, None, None, None)
                    for i in range(9)
                ],
            )
            db.execute("UPDATE event_rows SET session_id = 999999 WHERE id = 4")
        result = rollups.rebuild(db, show_progress=False)
        assert result["events"] == 8
        assert db.execute("SELECT sum(n) FROM rollup_commands").fetchone()[0] == 8
        assert db.execute("SELECT count(*) FROM event_rows WHERE id = 4").fetchone()[0] == 0
        reasons = db.execute("SELECT reason FROM quarantine").fetchall()
        assert reasons == [("not a valid events row",)]


def _sessions_of(db: Db, n: int) -> None:
    db.conn.executemany(
        INSERT,
        [(_at(1, i), f"s-{i % 3}", "doctor", 10 + i, 1, None, None, None) for i in range(n)],
    )


def test_the_events_of_a_session_whose_string_is_not_text_are_quarantined(tmp_path: Path) -> None:
    """A damaged ``strings`` row (a session that is a number): its events are moved aside with
    the reason a bad row gets, the others folded; a string damaged after a fold is found by the
    next one."""
    path = tmp_path / "t.db"
    with store.migrated(str(path)) as db:
        with db.atomic():
            _sessions_of(db, 9)
            db.execute("UPDATE strings SET value = 42 WHERE value = 's-1'")
        assert rollups.rebuild(db, show_progress=False)["events"] == 6
        with db.atomic():
            _sessions_of(db, 9)  # s-1 is a new, good string; s-2's goes bad after the insert
            db.execute("UPDATE strings SET value = x'00' WHERE value = 's-2'")
        assert rollups.fold(db, show_progress=False) == 6
        assert db.execute("SELECT sum(n) FROM rollup_commands").fetchone()[0] == 12
        assert db.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 6
        reasons = {r[0] for r in db.execute("SELECT reason FROM quarantine")}
        assert reasons == {"not a valid events row"}


def test_a_string_that_is_not_text_added_during_a_fold_is_found_at_the_next_chunk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each chunk looks only at the strings added since the last one: one added between two
    chunks (and used by an event of the second) is found."""
    path = tmp_path / "t.db"
    with store.migrated(str(path)) as db:
        with db.atomic():
            _sessions_of(db, 9)
        monkeypatch.setattr(rollups, "BUILD_CHUNK", 3)
        set_mark = rollups.set_mark

        def damage_after_the_first_chunk(db: Db, value: int) -> None:
            set_mark(db, value)
            if value == 3:
                db.execute("INSERT INTO strings (value) VALUES (7)")
                db.execute(
                    "UPDATE event_rows SET session_id = (SELECT max(id) FROM strings) WHERE id = 8"
                )

        monkeypatch.setattr(rollups, "set_mark", damage_after_the_first_chunk)
        assert rollups.rebuild(db, show_progress=False)["events"] == 8
        moved = db.execute("SELECT reason FROM quarantine").fetchall()
        assert moved == [("not a valid events row",)]
