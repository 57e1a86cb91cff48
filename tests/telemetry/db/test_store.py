"""The analytics store: migrations on top of the recorder's schema, corrupt databases."""

from __future__ import annotations

import functools
import random
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nexus_cli import locks, migrations, paths
from nexus_cli.errors import StateError
from nexus_cli.telemetry.db import child as db_child
from nexus_cli.telemetry.db import rollup_marks, rollup_sql, schema, store, upgrade, versions
from tests.conftest import run_nexus
from tests.telemetry.conftest import db_rows


def test_migrations_apply_once_and_keep_the_recorder_working() -> None:
    assert run_nexus("version").exit_code == 0
    with store.opened() as db:
        assert migrations.version(db.conn) == versions.LATEST == 14
        indexes = {r[1] for r in db.execute("PRAGMA index_list(event_rows)")}
        assert indexes == {"event_rows_time"}
    migrations.check_names(versions.MIGRATIONS)
    with store.opened() as db:  # idempotent
        assert migrations.migrate(db.conn, versions.MIGRATIONS, what="t") == 0
    assert run_nexus("version").exit_code == 0
    assert db_rows("SELECT count(*) FROM events")[0][0] == 2


def test_reading_needs_no_sqlite_utils() -> None:
    assert run_nexus("stats").exit_code == 0
    code = (
        "import sys\nfrom nexus_cli.cli import main\nmain(['stats', '--json'])\n"
        "print('LOADED', 'sqlite_utils' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "LOADED False"


def _old_database(path: Path, applied: int) -> None:
    """What the previous store made: the base schema at user_version 1, then the first
    ``applied`` migrations run by sqlite-utils under their old names."""
    from sqlite_utils import Database
    from sqlite_utils.migrations import Migrations

    conn = sqlite3.connect(path)
    conn.executescript("BEGIN;" + schema.BASE_SCHEMA + "COMMIT;")
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    old = Migrations(versions.SQLITE_UTILS_SET)
    for name, function in zip(versions.SQLITE_UTILS_NAMES, versions.MIGRATIONS[1:9], strict=True):
        old(name=name)(lambda db, run=function: run(db.conn))
    db = Database(path)
    db.execute(
        "INSERT INTO events (timestamp, session_id, event_type) VALUES ('2026-01-01', 's', 'x')"
    )
    db.conn.commit()
    old._migrations = old._migrations[:applied]
    old.apply(db)
    db.close()


@pytest.mark.parametrize("applied", [7, 4, 0])
def test_a_database_migrated_by_sqlite_utils_is_taken_over_not_migrated_again(
    tmp_path: Path, applied: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "telemetry.db"
    _old_database(path, applied)
    ran: list[str] = []

    def recorded(migration: Callable[[sqlite3.Connection], None]) -> Any:
        @functools.wraps(migration)
        def run(conn: sqlite3.Connection) -> None:
            ran.append(migration.__name__)
            migration(conn)

        return run

    monkeypatch.setattr(versions, "MIGRATIONS", tuple(recorded(m) for m in versions.MIGRATIONS))
    with store.migrated(str(path)) as db:
        assert migrations.version(db.conn) == versions.LATEST
        # only what sqlite-utils had not applied ran (migration 1 was user_version 1)
        assert ran == [m.__name__ for m in versions.MIGRATIONS[1 + applied :]]
        indexes = {r[1] for r in db.execute("PRAGMA index_list(event_rows)")}
        assert indexes == {"event_rows_time"}
        assert "rollup_cache" in db.table_names()
        columns = {r[1] for r in db.execute("PRAGMA table_info(patterns)")}
        assert {"pattern_key", "pattern_group"} <= columns
        assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 1
        recorded = db.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0]
        assert recorded == applied  # left as it was, unused
    with store.migrated(str(path)) as db:  # and opens as up to date from then on
        assert migrations.migrate(db.conn, versions.MIGRATIONS, what="t") == 0


OPEN_IN_A_CHILD = """\
import os, sys, time
from nexus_cli import migrations
from nexus_cli.telemetry.db import store, versions
print("opening", flush=True)
go = sys.argv[2] if len(sys.argv) > 2 else None
while go and not os.path.exists(go):  # all start at once
    time.sleep(0.001)
with store.migrated(sys.argv[1]) as db:
    print(migrations.version(db.conn), flush=True)
"""


def _child(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", OPEN_IN_A_CHILD, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("start", ["new", "sqlite-utils"])
def test_concurrent_first_uses_migrate_once(tmp_path: Path, start: str) -> None:
    path = tmp_path / "home" / "telemetry.db"
    path.parent.mkdir()
    if start == "sqlite-utils":
        _old_database(path, 3)
    go = tmp_path / "go"
    children = [_child(str(path), str(go)) for _ in range(8)]
    for child in children:
        assert child.stdout is not None and child.stdout.readline() == "opening\n"
    go.write_text("")
    for child in children:
        out, err = child.communicate(timeout=120)
        assert (child.returncode, out.strip(), err) == (0, str(versions.LATEST), "")
    with store.migrated(str(path)) as db:
        assert db.execute("SELECT count(*) FROM events").fetchone()[0] == (start != "new")


def test_a_first_use_waits_for_the_migration_lock(tmp_path: Path) -> None:
    path = tmp_path / "telemetry.db"
    with locks.locked(tmp_path / store.MIGRATE_LOCK):
        child = _child(str(path))
        assert child.stdout is not None and child.stdout.readline() == "opening\n"
        with pytest.raises(subprocess.TimeoutExpired):
            child.wait(timeout=0.5)  # waiting for the lock this test holds
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
        conn.close()
    out, err = child.communicate(timeout=120)
    assert (child.returncode, out.strip(), err) == (0, str(versions.LATEST), "")


def test_an_up_to_date_database_opens_without_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "telemetry.db"
    with store.migrated(str(path)):
        pass
    with locks.locked(tmp_path / store.MIGRATE_LOCK):
        out, err = _child(str(path)).communicate(timeout=120)
    assert (out.split(), err) == (["opening", str(versions.LATEST)], "")


def test_window_queries_use_the_covering_index() -> None:
    with store.opened() as db:
        plan = " ".join(
            str(r[-1])
            for r in db.execute(
                "EXPLAIN QUERY PLAN SELECT command, count(*) FROM events_ms "
                "WHERE at_ms >= ? AND at_ms < ? GROUP BY command",
                [schema.ms_of("2026-01-01 00:00:00.000"), schema.ms_of("2026-02-01 00:00:00.000")],
            )
        )
    assert "SEARCH e USING COVERING INDEX event_rows_time" in plan


def test_a_corrupt_database_is_one_clear_error_and_is_left_alone() -> None:
    db = paths.telemetry_db_path()
    db.parent.mkdir(parents=True)
    garbage = b"this is not a database" * 100
    db.write_bytes(garbage)
    with pytest.raises(StateError), store.opened():
        pass
    for args in (["stats", "--json"], ["insights"], ["dashboard"], ["export"], ["sync", "status"]):
        result = run_nexus(*args)
        assert result.exit_code == 1, args
        assert "Traceback" not in result.stderr
        if args[0] != "sync":
            assert result.stderr.splitlines()[0].startswith("error: cannot read the telemetry")
    assert db.read_bytes() == garbage


def test_a_home_whose_path_holds_uri_characters_reads_the_right_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read-only opens escape ``?``, ``#`` and ``%``: the status reads this home's database."""
    home = tmp_path / "we?ird#home%20x"
    monkeypatch.setenv("NEXUS_HOME", str(home))
    assert run_nexus("version").exit_code == 0
    assert run_nexus("version").exit_code == 0
    status = run_nexus("telemetry", "status", "--json").json()
    assert "error" not in status and status["events"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [home.name]
    doctor = run_nexus("doctor", "--json")
    assert "we?ird#home%20x" in doctor.stdout


def _one_event_at(path: Path, applied: int) -> None:
    """A database as a Nexus with the first ``applied`` migrations left it, with one event."""
    conn = sqlite3.connect(path, isolation_level=None)
    migrations.migrate(conn, versions.MIGRATIONS[:applied], what="t")
    conn.execute(
        "INSERT INTO events (timestamp, session_id, event_type) VALUES (?, 's', 'x')",
        ["2026-01-01 00:00:00.000"],
    )
    conn.close()


def test_a_database_before_the_quarantine_gets_it_and_keeps_its_events(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    _one_event_at(path, 8)  # as before m009_quarantine
    with store.opened(str(path)) as db:
        assert migrations.version(db.conn) == versions.LATEST
        assert db.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 1


def _version_10(path: Path, rows: int = 300) -> list[tuple[object, ...]]:
    """A database as the previous Nexus left it (migrations 1-10, an `events` table with its
    indexes) holding ``rows`` events of every column shape; returns `SELECT * FROM events`."""
    conn = sqlite3.connect(path, isolation_level=None)
    migrations.migrate(conn, versions.MIGRATIONS[:10], what="t")
    conn.execute("BEGIN")
    conn.executemany(
        f"INSERT INTO events ({', '.join(schema.EVENT_COLUMNS)}) "
        f"VALUES ({', '.join('?' for _ in schema.EVENT_COLUMNS)})",
        [
            (
                f"2026-01-{1 + i % 28:02d} 10:00:{i % 60:02d}.{i % 1000:03d}",
                f"sess-{i % 7}" if i % 11 else "séance-日本",
                ("command", "workspace", "task")[i % 3],
                None if i % 2 else f"{i % 5:064x}",
                None if i % 3 else f"{i % 4:064x}",
                (None, "doctor", "workspace create", "task list")[i % 4],
                None if i % 13 == 0 else i * 37,
                (1, 0, None)[i % 3],
                None if i % 3 != 1 else ("usage", "port_conflict")[i % 2],
                None if i % 4 != 2 else "bare",
                i % 3 or None,
                None,
                None if i % 5 else '{"counts":{"workspaces_created":1}}',
                i % 2,
                ("0.9.0", "1.0.0")[i % 2],
            )
            for i in range(rows)
        ],
    )
    conn.execute("COMMIT")
    before = conn.execute("SELECT * FROM events ORDER BY id").fetchall()
    conn.close()
    return before


def test_m011_stores_each_string_once_and_reads_the_same_rows(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    before = _version_10(path)
    with store.migrated(str(path)) as db:
        assert migrations.version(db.conn) == versions.LATEST
        after = db.execute("SELECT * FROM events ORDER BY id").fetchall()
        names = [d[0] for d in db.execute("SELECT * FROM events LIMIT 0").description]
        kinds = dict(db.execute("SELECT name, type FROM sqlite_master WHERE name = 'events'"))
        values = [r[0] for r in db.execute("SELECT value FROM strings")]
        indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        # writers go on writing through the view
        db.execute(
            "INSERT INTO events (timestamp, session_id, event_type, command) "
            "VALUES ('2026-02-01 00:00:00.000', 'new', 'command', 'doctor')"
        )
        assert db.execute("SELECT count(*) FROM strings").fetchone()[0] == len(values) + 1
        db.execute("DELETE FROM events WHERE session_id = 'new'")
        assert db.execute("SELECT count(*) FROM event_rows").fetchone()[0] == len(before)
    assert after == before  # the same values, of the same types, in the same columns
    assert names == ["id", *schema.EVENT_COLUMNS]
    assert kinds == {"events": "view"}
    assert len(values) == len(set(values)) and "doctor" in values and "séance-日本" in values
    assert not any(name.startswith("events_") for name in indexes)


def test_m011_gives_the_old_tables_pages_back(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    _version_10(path, rows=20_000)
    size = path.stat().st_size
    with store.migrated(str(path)) as db:
        assert db.execute("PRAGMA freelist_count").fetchone()[0] == 0
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert path.stat().st_size < size * 0.6


# Opens a database and is killed (SIGKILL) inside the migration numbered {number}, after its work
# and before its commit.
KILLED_IN_MIGRATION = """
import os, signal, sys
from nexus_cli.telemetry.db import store, versions
real = versions.MIGRATIONS[{number} - 1]
def killed(conn):
    real(conn)
    os.kill(os.getpid(), signal.SIGKILL)
killed.__name__ = real.__name__  # migrations are checked by name
versions.MIGRATIONS = (*versions.MIGRATIONS[:{number} - 1], killed)
with store.migrated(sys.argv[1]):
    pass
"""


@pytest.mark.parametrize(
    ("make", "version", "events"),
    [
        (lambda path: _version_10(path), 10, "table"),
        (lambda path: _version_11(path), 11, "view"),  # defined below
    ],
    ids=["m011", "m012"],
)
def test_a_migration_killed_before_its_commit_leaves_the_previous_layout_usable(
    tmp_path: Path, make: Any, version: int, events: str
) -> None:
    path = tmp_path / "t.db"
    before = make(path)
    killer = KILLED_IN_MIGRATION.format(number=version + 1)
    child = subprocess.run([sys.executable, "-c", killer, str(path)], check=False)
    assert child.returncode == -9
    conn = sqlite3.connect(path)  # what the previous release finds: its own database, whole
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == version
        kind = conn.execute("SELECT type FROM sqlite_master WHERE name = 'events'").fetchone()
        assert kind == (events,)
        assert conn.execute("SELECT * FROM events ORDER BY id").fetchall() == before
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        conn.close()
    with store.migrated(str(path)) as db:  # and the next open migrates it
        assert migrations.version(db.conn) == versions.LATEST
        assert db.execute("SELECT * FROM events ORDER BY id").fetchall() == before


class Stop(BaseException):
    pass


@pytest.mark.parametrize(
    ("make", "version", "step", "table"),
    [
        (lambda path: _version_10(path, rows=1000), 10, "copy_range", "event_rows"),  # m011
        (lambda path: _version_11(path, rows=1000), 11, "convert_range", "event_rows_ms"),  # m012
    ],
    ids=["copy into the compact layout", "conversion of the times"],
)
def test_an_interrupted_migration_goes_on_where_it_stopped(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make: Any,
    version: int,
    step: str,
    table: str,
) -> None:
    """m011 copies the events into the compact tables, m012 converts their times, in chunks that
    each commit: Ctrl-C in the third leaves two done, the layout before whole (the previous
    release reads and writes it), and the next open moves only the rest, taking over what was
    recorded or deleted meanwhile."""
    path = tmp_path / "t.db"
    before = make(path)
    monkeypatch.setattr(upgrade, "COPY_CHUNK", 300)
    real, ranges = getattr(upgrade, step), []

    def third_interrupted(conn: sqlite3.Connection, low: int, end: int) -> None:
        ranges.append((low, end))
        real(conn, low, end)
        if len(ranges) == 3:
            raise Stop

    monkeypatch.setattr(upgrade, step, third_interrupted)
    with pytest.raises(Stop), store.migrated(str(path)):
        pass
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == version
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 600
        assert conn.execute("SELECT * FROM events ORDER BY id").fetchall() == before
        # the previous release goes on meanwhile: one event deleted, one recorded
        conn.execute("DELETE FROM events WHERE id = 5")
        conn.execute(
            "INSERT INTO events (timestamp, session_id, event_type, command) "
            "VALUES ('2026-02-01 00:00:00.000', 'late', 'command', 'doctor')"
        )
        expected = conn.execute("SELECT * FROM events ORDER BY id").fetchall()
    finally:
        conn.close()
    ranges.clear()
    monkeypatch.setattr(upgrade, step, lambda c, low, end: ranges.append(low) or real(c, low, end))
    with store.migrated(str(path)) as db:
        assert migrations.version(db.conn) == versions.LATEST
        assert db.execute("SELECT * FROM events ORDER BY id").fetchall() == expected
        assert "event_rows_ms" not in db.table_names()
    assert ranges[0] == 600  # the two chunks done were not moved again


def test_a_recorders_fold_leaves_a_long_upgrade_to_the_next_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.db"
    _version_10(path, rows=50)
    monkeypatch.setattr(store, "INLINE_UPGRADE_MAX", 49)
    with pytest.raises(store.UpgradePending), store.migrated(str(path), upgrade=False):
        pass
    monkeypatch.setattr(store, "database_path", lambda: str(path))
    db_child.fold_journal()  # what the recorder runs: no upgrade, no error
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 10
    finally:
        conn.close()
    monkeypatch.setattr(store, "INLINE_UPGRADE_MAX", 50)  # small enough: upgraded inline
    db_child.fold_journal()
    with store.migrated(str(path)) as db:
        assert db.execute("SELECT type FROM sqlite_master WHERE name = 'events'").fetchone() == (
            "view",
        )


def _version_11(path: Path, rows: int = 300) -> list[tuple[object, ...]]:
    """A database as the previous release left it (migrations 1-11: the compact layout with text
    timestamps), holding the rows of :func:`_version_10`; returns `SELECT * FROM events`."""
    before = _version_10(path, rows)
    conn = sqlite3.connect(path, isolation_level=None)
    migrations.migrate(conn, versions.MIGRATIONS[:11], what="t")
    assert conn.execute("SELECT * FROM events ORDER BY id").fetchall() == before
    conn.close()
    return before


def test_m012_stores_times_as_milliseconds_and_reads_the_same_rows(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    _version_11(path)
    conn = sqlite3.connect(path, isolation_level=None)  # and rows no fold writes
    for bad in ("2026-01-01", "2026-02-30 10:00:00.000", "2026-01-01T10:00:00.000"):
        conn.execute(
            "INSERT INTO events (timestamp, session_id, event_type) VALUES (?, 's', 'x')", [bad]
        )
    before = conn.execute("SELECT * FROM events ORDER BY id").fetchall()
    conn.close()
    with store.migrated(str(path)) as db:
        assert migrations.version(db.conn) == versions.LATEST
        after = db.execute("SELECT * FROM events ORDER BY id").fetchall()
        names = [d[0] for d in db.execute("SELECT * FROM events LIMIT 0").description]
        kinds = dict(db.execute("SELECT name, type FROM sqlite_master WHERE name LIKE 'event%'"))
        types = [r[0] for r in db.execute("SELECT typeof(at_ms) FROM event_rows ORDER BY id")]
        times = [r[0] for r in db.execute("SELECT at_ms FROM event_rows ORDER BY id LIMIT 3")]
        indexes = {r[1] for r in db.execute("PRAGMA index_list(event_rows)")}
        # writers go on writing through the view, and read back the same text
        db.execute(
            "INSERT INTO events (timestamp, session_id, event_type, command) "
            "VALUES ('2026-02-01 00:00:00.123', 'new', 'command', 'doctor')"
        )
        new = db.execute("SELECT e.timestamp, r.at_ms FROM events AS e JOIN event_rows AS r "
                         "USING (id) WHERE e.session_id = 'new'").fetchone()  # fmt: skip
    assert after == before  # the same values, of the same types, in the same columns
    assert names == ["id", *schema.EVENT_COLUMNS]
    assert kinds == {
        "events": "view",
        "events_ms": "view",
        "event_rows": "table",
        "events_insert": "trigger",
        "events_delete": "trigger",
        "event_rows_time": "index",
    }
    assert types == ["integer"] * (len(before) - 3) + ["text"] * 3
    assert times == [schema.ms_of(str(row[1])) for row in before[:3]]
    assert indexes == {"event_rows_time"}
    assert new == ("2026-02-01 00:00:00.123", schema.ms_of("2026-02-01 00:00:00.123"))
    with store.opened(str(path)) as db:  # the first fold puts the rows of another shape aside
        assert db.execute("SELECT count(*) FROM events").fetchone()[0] == len(before) - 3 + 1
        assert db.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 3


def test_times_read_back_exactly(tmp_path: Path) -> None:
    """Whole milliseconds in event_rows, the same text as schema.utc through the view, to the
    millisecond and in UTC, from the first day of year 1 to the last of 9999; and the view's
    INSERT trigger stores the milliseconds of that text."""
    rng = random.Random(12)
    times = [schema.AT_MS_MIN, -1, 0, 1, 999, 1000, 946_684_799_999, schema.AT_MS_MAX]
    times += [rng.randint(schema.AT_MS_MIN, schema.AT_MS_MAX) for _ in range(3000)]
    with store.migrated(str(tmp_path / "t.db")) as db:
        db.conn.executemany(
            "INSERT INTO event_rows (at_ms, session_id, event_type) VALUES (?, 1, 1)",
            [(t,) for t in times],
        )
        shown = [r[0] for r in db.execute("SELECT timestamp FROM events ORDER BY id")]
        db.execute("DELETE FROM event_rows")
        db.conn.executemany(
            "INSERT INTO events (timestamp, session_id, event_type) VALUES (?, 's', 'x')",
            [(text,) for text in shown],
        )
        stored = [r[0] for r in db.execute("SELECT at_ms FROM event_rows ORDER BY id")]
    assert shown == [schema.utc(t) for t in times]
    assert [schema.ms_of(text) for text in shown] == times
    assert stored == times


def test_time_text_is_strftimes_for_every_value(tmp_path: Path) -> None:
    """schema.text_sql takes datetime() (cheaper) where it writes what strftime() does: for any
    stored value, a valid time or not (years before 1, beyond 9999, text, a real, NULL), it gives
    strftime's text of the whole seconds and then the milliseconds."""
    rng = random.Random(7)
    values: list[object] = [schema.AT_MS_MIN - 1, schema.AT_MS_MIN, -62_167_219_200_001]
    values += [schema.AT_MS_MAX + 1, 2**63 - 1, -(2**63), -1001, None, 1.5, "abc", "-7e13"]
    values += [rng.randint(-(10**15), 10**15) for _ in range(3000)]
    frac = "((v % 1000 + 1000) % 1000)"
    reference = (
        f"strftime('%Y-%m-%d %H:%M:%S', (v - {frac}) / 1000, 'unixepoch') "
        f"|| printf('.%03d', {frac})"
    )
    with store.migrated(str(tmp_path / "t.db")) as db:
        db.execute("CREATE TEMP TABLE t (v)")
        db.conn.executemany("INSERT INTO temp.t VALUES (?)", [(v,) for v in values])
        rows = db.execute(f"SELECT v, {schema.text_sql('v')}, {reference} FROM temp.t").fetchall()
    assert sum(1 for _, text, _ in rows if text is not None and text.startswith("-")) > 100
    assert [(v, text) for v, text, _ in rows] == [(v, want) for v, _, want in rows]


# The two chunked upgrades: how the database before each is made, the range step that moves
# the rows, the chunked step before the migration, the table filled, and how the previous release
# purges (m011's knew no `strings`; m012's empties them too).
CHUNKED_UPGRADES = pytest.mark.parametrize(
    ("make", "step", "chunked", "target", "purge"),
    [
        (lambda p, rows: _version_10(p, rows), "copy_range", "copy_events", "event_rows", ()),
        (
            lambda p, rows: _version_11(p, rows),
            "convert_range",
            "convert_times",
            "event_rows_ms",
            ("DELETE FROM strings",),
        ),
    ],
    ids=["m011 copy", "m012 conversion"],
)


def _purge_and_record(path: Path, purge: tuple[str, ...], new: int) -> list[tuple[object, ...]]:
    """What the previous release does: purge every event, then record ``new`` events, which
    take the ids the purged ones had; returns `SELECT * FROM events`."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for statement in ("DELETE FROM events", *purge):
            conn.execute(statement)
        conn.executemany(
            "INSERT INTO events (timestamp, session_id, event_type, command) "
            "VALUES (?, 'after', 'command', 'doctor')",
            [(f"2026-03-01 00:00:{i // 1000:02d}.{i % 1000:03d}",) for i in range(new)],
        )
        rows = conn.execute("SELECT * FROM events ORDER BY id").fetchall()
    finally:
        conn.close()
    assert [row[0] for row in rows] == list(range(1, new + 1))  # the ids the purged events had
    return rows


@pytest.mark.parametrize("new", [2, 1000], ids=["fewer events", "as many events"])
@CHUNKED_UPGRADES
def test_a_purge_during_an_interrupted_upgrade_leaves_no_stale_row(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make: Any,
    step: str,
    chunked: str,
    target: str,
    purge: tuple[str, ...],
    new: int,
) -> None:
    """The previous release purges the events while the copy (m011) or the conversion (m012) is
    cut short, then records new ones under the same ids, fewer or as many (the row counts then
    agree): the next open keeps only those, and no string of the purged events."""
    path = tmp_path / "t.db"
    make(path, 1000)
    monkeypatch.setattr(upgrade, "COPY_CHUNK", 300)
    real = getattr(upgrade, step)

    def interrupted(conn: sqlite3.Connection, low: int, end: int) -> None:
        real(conn, low, end)
        if low >= 300:
            raise Stop

    monkeypatch.setattr(upgrade, step, interrupted)
    with pytest.raises(Stop), store.migrated(str(path)):
        pass
    conn = sqlite3.connect(path)
    try:
        assert conn.execute(f"SELECT count(*) FROM {target}").fetchone()[0] == 300
    finally:
        conn.close()
    expected = _purge_and_record(path, purge, new)
    monkeypatch.setattr(upgrade, step, real)
    with store.migrated(str(path)) as db:
        assert db.execute("SELECT * FROM events ORDER BY id").fetchall() == expected
        strings = sorted(r[0] for r in db.execute("SELECT value FROM strings"))
    assert strings == ["after", "command", "doctor"]


@CHUNKED_UPGRADES
def test_a_purge_between_the_chunks_and_the_migration_leaves_no_stale_row(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make: Any,
    step: str,
    chunked: str,
    target: str,
    purge: tuple[str, ...],
) -> None:
    """The previous release purges and records as many events again after the last chunk and
    before the migration's transaction: the counts agree, the last row moved tells."""
    path = tmp_path / "t.db"
    make(path, 1000)
    real = getattr(versions, chunked)
    expected: list[tuple[object, ...]] = []

    def then_purged(conn: sqlite3.Connection, tick: Any) -> None:
        real(conn, tick)
        expected.extend(_purge_and_record(path, purge, 1000))

    monkeypatch.setattr(versions, chunked, then_purged)
    with store.migrated(str(path)) as db:
        assert db.execute("SELECT * FROM events ORDER BY id").fetchall() == expected
        strings = sorted(r[0] for r in db.execute("SELECT value FROM strings"))
    assert strings == ["after", "command", "doctor"]


def test_the_oldest_layout_is_copied_then_converted_in_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A version-10 database (an `events` table) goes all the way, each long step in chunks:
    the copy of m011, then the conversion of m012 (not one transaction of every event)."""
    path = tmp_path / "t.db"
    before = _version_10(path, rows=1000)
    monkeypatch.setattr(upgrade, "COPY_CHUNK", 300)
    copied: list[int] = []
    converted: list[int] = []
    for name, seen in (("copy_range", copied), ("convert_range", converted)):
        real = getattr(upgrade, name)
        monkeypatch.setattr(
            upgrade,
            name,
            lambda c, low, end, real=real, seen=seen: seen.append(low) or real(c, low, end),
        )
    with store.migrated(str(path)) as db:
        assert migrations.version(db.conn) == versions.LATEST
        assert db.execute("SELECT * FROM events ORDER BY id").fetchall() == before
    assert copied == [0, 300, 600, 900, 1000]  # the chunks, then m011's rest (none)
    assert converted == [0, 300, 600, 900, 1000]


def test_a_recorders_fold_leaves_a_long_conversion_to_the_next_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.db"
    _version_11(path, rows=50)
    monkeypatch.setattr(store, "INLINE_UPGRADE_MAX", 49)
    with pytest.raises(store.UpgradePending), store.migrated(str(path), upgrade=False):
        pass
    monkeypatch.setattr(store, "INLINE_UPGRADE_MAX", 50)  # small enough: upgraded inline
    with store.migrated(str(path), upgrade=False) as db:
        assert migrations.version(db.conn) == versions.LATEST


def test_a_database_of_a_later_nexus_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    with store.migrated(str(path)) as db:
        db.execute(f"PRAGMA user_version = {versions.LATEST + 1}")
    newer = f"schema version {versions.LATEST + 1}; this Nexus knows"
    with pytest.raises(StateError, match=newer), store.migrated(str(path)):
        pass


READS = (
    ["stats", "--month", "--json"],
    ["stats", "--week", "--json"],
    ["insights", "--json"],
    ["dashboard", "--json"],
    ["export", "--format", "openmetrics"],
    ["export", "--since", "7d"],
)


def test_each_read_uses_an_index_and_each_index_a_read(
    filled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EXPLAIN QUERY PLAN of every statement the reads run on the events: none scans the whole
    table, and every index on event_rows serves at least one of them (or the roll-up fold)."""
    statements: list[str] = []
    real_open = store._open

    def traced(path: str) -> sqlite3.Connection:
        conn = real_open(path)
        conn.set_trace_callback(statements.append)
        return conn

    monkeypatch.setattr(store, "_open", traced)
    with store.opened(str(filled)):  # the first build, and new events folded as reads do
        pass
    with store.migrated(str(filled)) as db, db.atomic():
        db.execute(
            "INSERT INTO events (timestamp, session_id, event_type, command, success) "
            "SELECT timestamp, session_id, event_type, command, 0 FROM events "
            "ORDER BY id DESC LIMIT 50"
        )
    statements.clear()
    for args in READS:
        result = run_nexus("--no-telemetry", *args)
        assert result.exit_code == 0, (args, result.stderr)
    used: set[str] = set()
    scans: list[tuple[str, list[str]]] = []
    conn = sqlite3.connect(filled)
    conn.create_function("rollup_merge_sessions", 2, rollup_sql.merge_sessions)  # the fold's
    try:
        for sql in sorted({s for s in statements if "event" in s}):
            if not sql.lstrip().upper().startswith(("SELECT", "WITH", "INSERT")) or "temp." in sql:
                continue
            plan = [str(r[-1]) for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}")]
            used.update(w for step in plan for w in step.split() if w.startswith("event_rows_"))
            if any(step.split()[:2] in (["SCAN", "e"], ["SCAN", "event_rows"]) for step in plan):
                scans.append((sql, plan))
    finally:
        conn.close()
    assert scans == []  # no read goes through every event
    assert used == {"event_rows_time"}


def test_a_database_before_agent_usage_gets_its_tables_and_keeps_its_events(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    _one_event_at(path, 9)  # as before m010_agent_usage
    with store.opened(str(path)) as db:
        assert migrations.version(db.conn) == versions.LATEST
        assert db.execute("SELECT count(*) FROM agent_usage").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM agent_log_marks").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 1
        assert migrations.migrate(db.conn, versions.MIGRATIONS, what="t") == 0


def _durations_as_text(path: Path, extra: tuple[Any, ...] | None = None) -> None:
    """Make the database at ``path`` what version 13 left: ``rollup_durations`` with its first
    and last times as text (plus the row ``extra``, as written)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("ALTER TABLE rollup_durations RENAME TO ms")
        conn.execute(
            "CREATE TABLE rollup_durations (day TEXT NOT NULL, command TEXT NOT NULL, "
            "bucket INTEGER NOT NULL, n INTEGER NOT NULL, first_ts TEXT NOT NULL, "
            "last_ts TEXT NOT NULL, session_id TEXT NOT NULL, lo INTEGER NOT NULL, "
            "hi INTEGER NOT NULL, PRIMARY KEY (day, command, bucket)) WITHOUT ROWID"
        )
        conn.execute(
            "INSERT INTO rollup_durations SELECT day, command, bucket, n, "
            f"{schema.text_sql('first_ms')}, {schema.text_sql('last_ms')}, session_id, lo, hi "
            "FROM ms"
        )
        if extra is not None:
            conn.execute("INSERT INTO rollup_durations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", extra)
        conn.execute("DROP TABLE ms")
        conn.execute("PRAGMA user_version = 13")
    finally:
        conn.close()


@pytest.mark.parametrize("damaged", [False, True], ids=["as written", "a damaged row"])
def test_m014_keeps_duration_times_as_milliseconds(tmp_path: Path, damaged: bool) -> None:
    """Migration 14 converts the text times of ``rollup_durations`` in place; a row it cannot
    convert drops the roll-ups instead, and the next read builds the same rows again."""
    path = tmp_path / "t.db"
    with store.opened(str(path)) as db:
        db.conn.executemany(
            "INSERT INTO events (timestamp, session_id, event_type, command, duration_ms, "
            "success) VALUES (?, ?, 'command', ?, ?, 1)",
            [
                (f"2026-0{1 + i % 3}-1{i % 7} 1{i % 10}:00:0{i % 6}.{i:03d}", f"s{i % 4}",
                 ("stats", "doctor")[i % 2], 10 + 37 * i)
                for i in range(60)
            ],
        )  # fmt: skip
    with store.opened(str(path)) as db:
        expected = db.execute("SELECT * FROM rollup_durations ORDER BY 1, 2, 3").fetchall()
        mark = rollup_marks.mark(db)
    assert len(expected) > 20 and all(isinstance(row[4], int) for row in expected)
    bad = ("2026-05-01", "stats", 3, 1, "yesterday", "today", "s", 3, 3) if damaged else None
    _durations_as_text(path, bad)
    with store.migrated(str(path)) as db:
        assert migrations.version(db.conn) == versions.LATEST
        converted = db.execute("SELECT * FROM rollup_durations ORDER BY 1, 2, 3").fetchall()
        assert rollup_marks.mark(db) == (0 if damaged else mark)
    assert converted == ([] if damaged else expected)
    with store.opened(str(path)) as db:
        assert db.execute("SELECT * FROM rollup_durations ORDER BY 1, 2, 3").fetchall() == expected
