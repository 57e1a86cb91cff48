"""Records and events a fold cannot take are kept aside and counted; every read still works.

Issue #25, cause 4: one journal record that passed the journal's check made the fold raise, so
every reading command failed ("unexpected OverflowError") until `telemetry purge`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nexus_cli import paths
from nexus_cli.telemetry.db import fold, quarantine, rollup_sql, rollups, store
from nexus_cli.telemetry.db.schema import stamp
from nexus_cli.telemetry.journal import entry, file, invocation, recorder
from tests.conftest import Result, run_nexus, run_process

# Every command that reads telemetry.db (each folds first).
READERS: list[tuple[str, ...]] = [
    ("stats", "--json"),
    ("stats", "--exact", "--json"),
    ("insights", "--json"),
    ("dashboard", "--json"),
    ("export", "--format", "ndjson"),
    ("telemetry", "rebuild", "--json"),
    ("telemetry", "status", "--json"),
]


def _valid(**changes: Any) -> dict[str, Any]:
    inv = invocation.Invocation(["version"])
    inv.command_path = ["version"]
    return {**recorder.build_entry(inv, 0, time.time(), 3, main=True), **changes}


def _record(value: Any) -> bytes:
    return entry.SEPARATOR + json.dumps(value).encode() + b"\n"


def _journal(data: bytes) -> None:
    folder = paths.nexus_home() / paths.TELEMETRY_JOURNAL
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(folder / file.JOURNAL_FILE, "ab") as fh:
        fh.write(data)


def _rows(sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(paths.telemetry_db_path())
    try:
        return list(conn.execute(sql, params))
    finally:
        conn.close()


def _read_ok(*args: str) -> Result:
    result = run_nexus("--no-telemetry", *args)
    assert result.exit_code == 0, (args, result.stderr)
    assert "unexpected" not in result.stderr and "Traceback" not in result.stderr
    return result


# The issue's example: raw_data holding a number that Python reads as Infinity.
INFINITY = _valid(raw_data='{"counts":{"workspaces_created":1e999}}')


def test_the_issues_infinity_record_is_quarantined_and_every_reader_works() -> None:
    # The journal's check now reads raw_data with the strict reader (issue 25, cause 3), which
    # refuses the overflow itself; whichever check catches it, the record is put aside.
    with pytest.raises(entry.BadEntry, match="raw_data"):
        entry.check(dict(INFINITY))
    good = [entry.encode(_valid()) for _ in range(2)]
    _journal(good[0] + _record(INFINITY) + good[1])
    for args in READERS:
        _read_ok(*args)
    assert _rows("SELECT count(*) FROM events WHERE command = 'version'") == [(2,)]
    status = _read_ok("telemetry", "status", "--json").json()
    (reason,) = status["quarantined"]["reasons"]
    assert status["quarantined"]["total"] == status["quarantined"]["kept"] == 1
    assert reason["source"] == "journal" and reason["count"] == 1
    assert reason["reason"].startswith("raw_data: ")
    kept = _rows("SELECT source, reason, data FROM quarantine")
    assert kept == [("journal", reason["reason"], _record(INFINITY)[1:])]
    text = _read_ok("telemetry", "status").stdout
    assert "skipped:   1 record the fold could not take" in text
    assert f"{reason['reason']} (journal) 1" in text


def test_the_issues_example_through_a_real_process() -> None:
    _journal(entry.encode(_valid()) + _record(INFINITY))
    done = run_process("--no-telemetry", "stats", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["invocations"] == 1


@pytest.mark.parametrize(
    "raw",
    [
        '{"counts":{"tasks_completed":9007199254740993}}',  # past 2**53
        '{"counts":{"workspaces_created":4294967296}}',  # past what a count may be
        '{"counts":{"workspaces_created":-1}}',
        '{"counts":{"workspaces_created":1.5}}',
        '{"counts":{"workspaces_created":true}}',
        '{"counts":[1]}',
        '{"signals":[{"kind":"workspace_deleted","age_s":-1e400}]}',
        '{"x":' + "9" * 40 + "}",
    ],
)
def test_raw_data_numbers_no_reader_can_add_are_quarantined(raw: str) -> None:
    _journal(entry.encode(_valid()) + _record(_valid(raw_data=raw)))
    for args in READERS:
        _read_ok(*args)
    assert _rows("SELECT count(*) FROM events") == [(1,)]
    assert _rows("SELECT count(*) FROM quarantine WHERE source = 'journal'") == [(1,)]


def test_a_record_whose_insert_raises_is_put_aside_and_the_rest_stored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A record that passes every check and still makes its insert raise (a fault injected in
    this process): the segment is folded again record by record, the others are stored."""
    bad = _valid()
    real = fold._insert

    def insert(conn: sqlite3.Connection, item: dict[str, Any], strings: fold.Strings) -> None:
        if item["uid"] == bad["uid"]:
            raise OverflowError("injected")
        real(conn, item, strings)

    monkeypatch.setattr(fold, "_insert", insert)
    _journal(entry.encode(_valid()) + entry.encode(bad) + entry.encode(_valid()))
    with store.opened() as db:
        assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 2
        assert quarantine.summary(db.conn)["reasons"] == [
            {"source": "journal", "reason": "the fold failed: OverflowError", "count": 1}
        ]
        detail, data = db.execute("SELECT detail, data FROM quarantine").fetchone()
    assert (detail, data) == ("injected", entry.encode(bad)[1:])
    assert not any(n.startswith(file.SEGMENT_PREFIX) for n in os.listdir(file.journal_dir()))


def _insert_event(**values: Any) -> None:
    row = {
        "timestamp": stamp(datetime.now(UTC) - timedelta(hours=1)),
        "session_id": "s1",
        "event_type": "command",
        "command": "version",
        "duration_ms": 3,
        "success": 1,
        "exit_code": 0,
        "nexus_version": "0",
        **values,
    }
    conn = sqlite3.connect(paths.telemetry_db_path())
    with conn:
        conn.execute(
            f"INSERT INTO events ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
            list(row.values()),
        )
    conn.close()


@pytest.mark.parametrize(
    "values",
    [
        {"timestamp": 5},
        {"timestamp": "yesterday"},
        {"duration_ms": "slow", "success": 0},
        {"duration_ms": 1.5e300, "success": 0},
        {"success": "yes"},
        {"raw_data": '{"counts":'},
        {"raw_data": b"\xff\xfe"},
        {"raw_data": '{"counts":{"workspaces_created":1e999}}', "success": 0},
    ],
)
def test_an_events_row_of_another_shape_is_moved_aside_and_reads_work(
    values: dict[str, Any],
) -> None:
    """Rows no journal fold writes (a damaged or hand-edited database, another program)."""
    with store.opened():
        pass
    _insert_event()
    _insert_event(**values)
    for args in READERS:
        _read_ok(*args)
    assert _rows("SELECT count(*) FROM events") == [(1,)]
    ((source, data),) = _rows("SELECT source, data FROM quarantine")
    assert source == "event" and json.loads(data)["id"] == 2


def test_an_event_whose_session_id_names_no_string_is_moved_aside() -> None:
    """A damaged database: the session id of an event names no row of ``strings``."""
    with store.opened():
        pass
    _insert_event()
    _insert_event(duration_ms=None)  # no duration: nothing but the session would refuse it
    conn = sqlite3.connect(paths.telemetry_db_path())
    with conn:
        conn.execute("UPDATE event_rows SET session_id = 999999 WHERE id = 2")
    conn.close()
    for args in READERS:
        _read_ok(*args)
    assert _rows("SELECT count(*) FROM events") == [(1,)]
    assert _rows("SELECT reason, json_extract(data, '$.id') FROM quarantine") == [
        ("not a valid events row", 2)
    ]
    assert _rows("SELECT sum(n) FROM rollup_commands") == [(1,)]


def test_an_event_that_still_breaks_the_roll_ups_is_put_aside_after_one_rebuild(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past every check (a fault injected in this process): the roll-ups are rebuilt once, then
    folded event by event, and the one that raises is moved aside."""
    with store.opened():
        pass
    for _ in range(3):
        _insert_event()
    real = rollup_sql.fold_range

    def fold_range(db: Any, low: int, end: int) -> Any:
        if low < 2 <= end:
            raise TypeError("injected")
        return real(db, low, end)

    monkeypatch.setattr(rollup_sql, "fold_range", fold_range)
    with store.opened() as db:
        assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 2
        assert rollups.mark(db) == 3
        assert db.execute("SELECT sum(n) FROM rollup_commands").fetchone()[0] == 2
        assert quarantine.summary(db.conn)["reasons"] == [
            {"source": "event", "reason": "the fold failed: TypeError", "count": 1}
        ]


def test_only_the_first_rows_are_kept_whole_but_all_are_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(quarantine, "KEEP", 3)
    _journal(b"".join(entry.SEPARATOR + b"junk %d\n" % i for i in range(5)))
    status = _read_ok("telemetry", "status", "--json").json()
    assert status["quarantined"]["total"] == 5
    assert status["quarantined"]["kept"] == 3


def test_purge_empties_the_quarantine() -> None:
    _journal(_record(INFINITY))
    _read_ok("stats", "--json")
    _read_ok("telemetry", "purge", "--yes")
    assert _read_ok("telemetry", "status", "--json").json()["quarantined"]["total"] == 0


# Records with every oddity: wrong types, huge numbers, NaN and Infinity, nested junk, truncated
# lines, invalid UTF-8. Whatever the journal holds, no read fails and the good record is kept.
NUMBERS = st.sampled_from(
    ["1e999", "-1e999", "NaN", "Infinity", "9" * 30, "-0", "1e-400", "2147483648", "0.5"]
)
JUNK_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | NUMBERS.map(lambda n: ("raw", n)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=12,
)


def _json_text(value: Any) -> str:
    if isinstance(value, tuple):
        return value[1]
    if isinstance(value, list):
        return "[" + ",".join(_json_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{_json_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, float) and value != value:
        return "NaN"
    return json.dumps(value)


@st.composite
def odd_records(draw: st.DrawFn) -> bytes:
    base = _valid()
    kind = draw(st.sampled_from(["raw_data", "field", "counts", "signals", "bytes", "truncated"]))
    if kind == "raw_data":
        base["raw_data"] = _json_text(draw(st.dictionaries(st.text(max_size=6), JUNK_VALUES)))
    elif kind == "counts":
        counts = draw(st.dictionaries(st.sampled_from(quarantine.COUNTERS), JUNK_VALUES))
        base["raw_data"] = '{"counts":' + _json_text(counts) + "}"
    elif kind == "signals":
        signal = {"kind": draw(st.sampled_from(["port_conflict", "workspace_deleted"]))}
        signal.update(draw(st.dictionaries(st.sampled_from(["port", "age_s"]), JUNK_VALUES)))
        base["raw_data"] = '{"signals":[' + _json_text(signal) + "]}"
    elif kind == "field":
        base[draw(st.sampled_from(sorted(entry.FIELDS)))] = draw(JUNK_VALUES)
    text = "{" + ",".join(f"{json.dumps(k)}:{_json_text(v)}" for k, v in base.items()) + "}"
    data = text.encode()
    if kind == "bytes":
        at = draw(st.integers(0, len(data)))
        high = draw(st.binary(min_size=1, max_size=4).map(lambda b: bytes(c | 0x80 for c in b)))
        data = data[:at] + high + data[at:]  # never a separator or a newline
    if kind == "truncated":
        return entry.SEPARATOR + data[: draw(st.integers(1, len(data) - 1))]
    return entry.SEPARATOR + data + b"\n"


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(odd=st.lists(odd_records(), min_size=1, max_size=3))
def test_no_record_ever_makes_a_read_fail(odd: list[bytes], tmp_path: Path) -> None:
    home = tmp_path / f"h{abs(hash(tuple(odd)))}"
    os.environ["NEXUS_HOME"] = str(home)
    _journal(entry.encode(_valid()) + b"".join(odd) + entry.encode(_valid()))
    for args in (("stats", "--json"), ("stats", "--exact", "--json"), ("insights", "--json")):
        _read_ok(*args)
    stored = _rows("SELECT count(*) FROM events")[0][0]
    status = _read_ok("telemetry", "status", "--json").json()
    assert stored >= 2  # the good records around the odd ones
    assert stored + status["quarantined"]["total"] == 2 + len(odd)
