"""The journal under real concurrent processes, crashes (kill -9) and hostile input."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from nexus_cli import paths
from nexus_cli.telemetry.db import fold, schema, store
from nexus_cli.telemetry.journal import entry, file, invocation, recorder
from tests.conftest import nexus_exe, run_nexus

WRITER = """
import sys
from nexus_cli.telemetry.journal import invocation, recorder
for _ in range(int(sys.argv[1])):
    inv = invocation.begin(["version"])
    inv.command_path = ["version"]
    if not recorder.record(inv, 0):
        sys.exit("not recorded")
"""
FOLDER = """
from nexus_cli.telemetry.db import store
while True:
    with store.opened():
        pass
"""


def _python(code: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", code, *args], stderr=subprocess.PIPE)


def _wait_all(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()


def _count(sql: str = "SELECT count(*) FROM events") -> int:
    with store.opened() as db:
        return int(db.execute(sql).fetchone()[0])


def _folder() -> Path:
    return paths.nexus_home() / paths.TELEMETRY_JOURNAL


def _skipped() -> int:
    with store.opened() as db:
        row = db.execute(
            "SELECT value FROM maintenance WHERE key = ?", (fold.SKIPPED_KEY,)
        ).fetchone()
    return int(row[0]) if row else 0


def test_eight_real_nexus_processes_at_once_give_one_event_each() -> None:
    def run(_: int) -> int:
        for _ in range(5):
            out = subprocess.run([*nexus_exe(), "version"], capture_output=True, timeout=60)
            assert out.returncode == 0, out.stderr
        return 5

    with ThreadPoolExecutor(8) as pool:
        total = sum(pool.map(run, range(8)))
    assert total == 40
    assert _count("SELECT count(*) FROM events WHERE command = 'version'") == 40
    assert _count("SELECT sum(commands_executed) FROM sessions") == 40


def test_800_concurrent_records_with_folds_running_give_800_events() -> None:
    folders = [_python(FOLDER) for _ in range(2)]
    try:
        _wait_all([_python(WRITER, "100") for _ in range(8)])
    finally:
        for proc in folders:
            proc.kill()
            proc.wait()
    assert _count() == 800
    assert _skipped() == 0
    assert {p.name for p in _folder().iterdir()} <= {
        file.LOCK_FILE,
        file.FOLD_LOCK_FILE,
        file.AUTOFOLD_LOCK_FILE,
    }


def test_threads_of_one_process_recording_while_it_folds_give_one_event_each() -> None:
    """`nexus mcp` records and folds in threads of one process (the flock parts them too)."""
    import threading

    done = threading.Event()

    def fold_until_done() -> None:
        while not done.is_set():
            with store.opened():
                pass

    folder = threading.Thread(target=fold_until_done)
    folder.start()
    try:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: _record(100), range(8)))
    finally:
        done.set()
        folder.join()
    assert _count() == 800


def test_folds_killed_at_random_moments_lose_and_duplicate_nothing() -> None:
    writers = [_python(WRITER, "150") for _ in range(4)]
    rng = random.Random(7)
    while any(w.poll() is None for w in writers):
        folder = _python(FOLDER)
        time.sleep(rng.uniform(0.05, 0.4))
        folder.send_signal(signal.SIGKILL)
        folder.wait()
    _wait_all(writers)
    assert _count() == 600
    assert _count() == 600  # folding again changes nothing


def test_writers_killed_mid_run_never_break_the_reader() -> None:
    code = WRITER.replace("int(sys.argv[1])", "10**9")
    writers = [_python(code) for _ in range(4)]
    try:  # they write until killed: killed however the wait ends (a failure, Ctrl-C)
        deadline = time.monotonic() + 300
        while _journal_bytes() < 16 * 1024 and time.monotonic() < deadline:  # they are writing
            time.sleep(0.05)
    finally:
        for proc in writers:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
    # What is there now: rows some writer already folded (it may have been killed folding),
    # and records in journal files whose fold did not commit.
    before, done, skipped_before = 0, set(), 0
    if paths.telemetry_db_path().exists():
        with _raw() as conn:
            # a writer killed before its first migration committed leaves a file with no tables
            if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'events'").fetchone():
                before = conn.execute("SELECT count(*) FROM events").fetchone()[0]
                done = {k.removeprefix(fold.MARKER_PREFIX) for k in _keys(conn)}
                skipped_before = _skipped_raw(conn)
    records = [
        r
        for name in os.listdir(_folder())
        if (name == file.JOURNAL_FILE or name.startswith(file.SEGMENT_PREFIX)) and name not in done
        for r in (_folder() / name).read_bytes().split(entry.SEPARATOR)
        if r
    ]
    assert before + len(records) > 4  # they did write
    after = _count()
    assert after + _skipped() - skipped_before == before + len(records)
    assert after >= before + len(records) - 4  # at most one torn record per killed writer


def _journal_bytes() -> int:
    """What the writers have appended so far (0 before the first one made the journal)."""
    try:
        return sum(p.stat().st_size for p in _folder().iterdir())
    except OSError:
        return 0


def _keys(conn: Any) -> list[str]:
    """The maintenance keys; none when a writer was killed before the migrations made the table."""
    try:
        return [r[0] for r in conn.execute("SELECT key FROM maintenance")]
    except Exception:
        return []


def _skipped_raw(conn: Any) -> int:
    try:
        row = conn.execute(
            "SELECT value FROM maintenance WHERE key = ?", (fold.SKIPPED_KEY,)
        ).fetchone()
    except Exception:  # no maintenance table yet
        return 0
    return int(row[0]) if row else 0


def _crash_fold_at(point: str, after: int = 0) -> None:
    """Run a fold in a subprocess that kills itself (SIGKILL) at ``point`` (``module.name``)."""
    module, name = point.split(".")
    code = f"""
import os, signal
from nexus_cli.telemetry.db import fold, schema, store
from nexus_cli.telemetry.journal import file
calls = []
real = {module}.{name}
def crash(*args, **kwargs):
    calls.append(1)
    if len(calls) > {after}:
        os.kill(os.getpid(), signal.SIGKILL)
    return real(*args, **kwargs)
{module}.{name} = crash
with store.opened():
    pass
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr


def _record(n: int) -> None:
    for _ in range(n):
        inv = invocation.begin(["version"])
        inv.command_path = ["version"]
        assert recorder.record(inv, 0)


def test_a_fold_killed_after_commit_before_removing_its_segment_is_not_counted_twice() -> None:
    _record(5)
    _crash_fold_at("file.remove")  # committed, then killed before the segment was removed
    segments = [p for p in _folder().iterdir() if p.name.startswith(file.SEGMENT_PREFIX)]
    assert len(segments) == 1
    with _raw() as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 5
    assert _count() == 5
    assert not any(p.name.startswith(file.SEGMENT_PREFIX) for p in _folder().iterdir())
    with _raw() as conn:
        markers = conn.execute("SELECT count(*) FROM maintenance WHERE key LIKE 'journal:%'")
        assert markers.fetchone()[0] == 0


def test_a_fold_killed_mid_transaction_stores_everything_once_on_the_next_fold() -> None:
    _record(6)
    _crash_fold_at("fold._insert", after=3)
    with _raw() as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 0
    assert _count() == 6


class _raw:
    """A plain connection to telemetry.db that does not fold (to see what a crash left)."""

    def __enter__(self) -> Any:
        import sqlite3

        self.conn = sqlite3.connect(paths.telemetry_db_path())
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.conn.close()


def _valid(**changes: Any) -> dict[str, Any]:
    inv = invocation.Invocation(["version"])
    inv.command_path = ["version"]
    return {**recorder.build_entry(inv, 0, time.time(), 3, main=True), **changes}


def _raw_record(value: Any) -> bytes:
    return entry.SEPARATOR + json.dumps(value).encode() + b"\n"


HOSTILE: list[bytes] = [
    b'{"v":1,"uid":"00',  # garbage after a record, without a separator
    b'\x1e{"v":1,"uid":"00',  # torn: no newline, and the next writer appended after it
    _raw_record([1, 2, 3]),
    _raw_record({**_valid(), "extra": 1}),
    _raw_record(_valid(workspace_hash="not-hex")),
    _raw_record(_valid(exit_code=True)),
    _raw_record(_valid(success=0)),  # does not match exit_code 0
    _raw_record(_valid(command="a\x1bb")),
    _raw_record(_valid(raw_data="[1]")),
    _raw_record(_valid(t=1)),
    _raw_record(_valid(t="2026-01-01 10:00:00.000")),  # a time that is not whole milliseconds
    _raw_record(_valid(t=10**20)),  # past the calendar
    _raw_record(_valid(t=1.5e12)),
    entry.SEPARATOR + b"\xff\xfe not utf-8\n",
    entry.SEPARATOR + b"{" + b" " * (entry.MAX_ENTRY_BYTES + 10) + b"}\n",
]


def test_hostile_records_are_skipped_and_counted_and_good_ones_kept() -> None:
    good = [entry.encode(_valid()) for _ in range(3)]
    data = good[0] + b"".join(HOSTILE[:1]) + good[1] + b"".join(HOSTILE[1:]) + good[2]
    data += good[2]  # the same uid again: stored once
    _folder().mkdir(mode=0o700, parents=True)
    (_folder() / file.JOURNAL_FILE).write_bytes(data)
    result = run_nexus("stats", "--json")
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert _count("SELECT count(*) FROM events WHERE command = 'version'") == 3
    assert _skipped() == len(HOSTILE) + 1


def test_a_symlink_in_place_of_the_journal_is_never_followed(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("")
    _folder().mkdir(mode=0o700, parents=True)
    (_folder() / file.JOURNAL_FILE).symlink_to(target)
    assert run_nexus("version").exit_code == 0
    assert target.read_text() == ""
    assert run_nexus("stats", "--json").exit_code == 0  # the next read discards the link
    assert target.exists() and target.read_text() == ""
    assert not (_folder() / file.JOURNAL_FILE).is_symlink()
    run_nexus("version")
    assert _count("SELECT count(*) FROM events WHERE command = 'version'") == 1


def test_the_recorder_folds_when_the_journal_grows_past_its_limit() -> None:
    size = len(entry.encode(_valid()))
    _record(recorder.FOLD_BYTES // size + 2)
    assert paths.telemetry_db_path().exists()  # no reader ran: the recorder folded
    with _raw() as conn:
        folded = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    assert folded >= recorder.FOLD_BYTES // size - 2
    assert (_folder() / file.JOURNAL_FILE).stat().st_size < 3 * size


def test_another_database_does_not_take_the_journal(tmp_path: Path) -> None:
    _record(2)
    with store.opened(str(tmp_path / "other.db")) as db:
        assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 0
    assert _count() == 2


def test_status_export_and_purge_see_journal_events() -> None:
    _record(3)
    status = run_nexus("--no-telemetry", "telemetry", "status", "--json").json()
    assert status["events"] == 3
    _record(2)
    lines = run_nexus("--no-telemetry", "export", "--format", "ndjson").stdout.splitlines()
    assert [json.loads(line)["table"] for line in lines].count("events") == 5
    _record(1)
    assert run_nexus("telemetry", "purge", "--yes").exit_code == 0
    assert _count() == 0


def test_times_read_back_exactly_through_the_view_and_the_export() -> None:
    """Stored as whole milliseconds (event_rows.at_ms), shown as the same UTC text, to the
    millisecond, by the `events` view, and as the same moment by `export`."""
    hour = (int(time.time()) // 3600 - 2) * 3_600_000  # a whole hour (UTC), before now
    times = [hour, hour + 1, hour + 999, hour + 1000, hour + 59_999, hour + 3_599_999]
    _folder().mkdir(mode=0o700, parents=True)
    records = [entry.encode(_valid(t=t)) for t in times]
    (_folder() / file.JOURNAL_FILE).write_bytes(b"".join(records))
    with store.opened() as db:
        stored = db.execute("SELECT at_ms, typeof(at_ms) FROM event_rows ORDER BY id").fetchall()
        shown = [r[0] for r in db.execute("SELECT timestamp FROM events ORDER BY id")]
    assert stored == [(t, "integer") for t in times]
    expected = [schema.utc(t) for t in times]
    assert shown == expected
    assert [s[-4:] for s in shown] == [".000", ".001", ".999", ".000", ".999", ".999"]
    lines = run_nexus("--no-telemetry", "export", "--format", "ndjson").stdout.splitlines()
    exported = [json.loads(line)["timestamp"] for line in lines]
    assert exported == [e.replace(" ", "T") + "Z" for e in expected]
    day = expected[0][:10]
    since = run_nexus("--no-telemetry", "export", "--format", "ndjson", "--since", day).stdout
    assert [json.loads(line)["timestamp"] for line in since.splitlines()] == exported


def test_nothing_is_written_while_telemetry_is_off() -> None:
    assert run_nexus("telemetry", "off").exit_code == 0
    for _ in range(3):
        run_nexus("version")
    inv = invocation.begin(["loop"])
    assert recorder.record_event(inv, 0, 5) is False
    assert not (_folder() / file.JOURNAL_FILE).exists()
    assert run_nexus("telemetry", "on").exit_code == 0
    assert _count() == 1  # `telemetry on` itself


@pytest.mark.parametrize("torn", [b"", b"\x1e", b"\x1e{", b'\x1e{"v":1}'])
def test_a_torn_tail_alone_is_skipped(torn: bytes) -> None:
    _record(1)
    with open(_folder() / file.JOURNAL_FILE, "ab") as fh:
        fh.write(torn)
    assert _count() == 1
    assert _skipped() == (1 if torn.strip(entry.SEPARATOR) else 0)
