"""A roll-up build in two processes (parallel_build.py) makes exactly the tables one process
makes; a child that fails, or meets a row for the quarantine, leaves the parent to fold the rest."""

from __future__ import annotations

import itertools
import os
import shutil
import struct
import time
from pathlib import Path
from typing import Any

import pytest

from nexus_cli.telemetry.db import parallel_build, rollups, store, synthetic
from nexus_cli.telemetry.db.handle import Db

EVENTS = 6000
START = parallel_build.start


def _state(db: Db) -> dict[str, Any]:
    """Every roll-up row, the mark, the events left and what was put aside."""
    state: dict[str, Any] = {
        t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in rollups.TABLES
    }
    state["mark"] = rollups.mark(db)
    state["events"] = db.execute("SELECT count(*), max(id) FROM events").fetchone()
    state["quarantine"] = db.execute("SELECT reason, data FROM quarantine ORDER BY data").fetchall()
    return state


@pytest.fixture
def filled(tmp_path: Path) -> Path:
    path = tmp_path / "t.db"
    synthetic.fill(str(path), EVENTS, 30, seed=5)
    return path


def _patient_parent(
    monkeypatch: pytest.MonkeyPatch, started: list[parallel_build.Part | None]
) -> None:
    """The parent takes no chunk after its first until the child took one (or ended): these
    few events are folded before a child could start otherwise, and each side must fold some."""
    take_up = parallel_build.Frontier.take_up

    def patient(frontier: parallel_build.Frontier, low: int, end: int) -> int:
        part = started[-1] if started else None
        deadline = time.monotonic() + 120
        while part is not None and low > 0 and part.child.poll() is None:
            with open(frontier.path, "rb") as fh:
                if struct.unpack("<qq", fh.read(16))[1] < frontier.top:
                    break
            assert time.monotonic() < deadline, "the child took no chunk in 120 s"
            time.sleep(0.01)
        return take_up(frontier, low, end)

    monkeypatch.setattr(parallel_build.Frontier, "take_up", patient)


def _build(
    path: Path, monkeypatch: pytest.MonkeyPatch, *, parallel: bool
) -> tuple[dict[str, Any], dict[str, Any], list[parallel_build.Part | None]]:
    """Rebuild ``path``'s roll-ups (in two processes when ``parallel``): (its state, the
    rebuild's report, the parts started)."""
    started: list[parallel_build.Part | None] = []
    _patient_parent(monkeypatch, started)

    def spy(db: Db, top: int, quarantined: int) -> parallel_build.Part | None:
        part = START(db, top, quarantined)
        started.append(part)
        return part

    monkeypatch.setattr(parallel_build, "PARALLEL_FROM", 1000 if parallel else 10**12)
    monkeypatch.setattr(rollups, "BUILD_CHUNK", 500)  # several chunks on each side
    monkeypatch.setattr(parallel_build, "MIN_TAKE", 200)
    monkeypatch.setattr(parallel_build, "start", spy)
    with store.migrated(str(path)) as db:
        report = rollups.rebuild(db, show_progress=False)
        return _state(db), report, started


def _copy(path: Path, name: str) -> Path:
    copy = path.with_name(name)
    shutil.copy(path, copy)
    return copy


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="a parallel build needs two CPUs")
def test_two_processes_make_the_tables_one_process_makes(
    filled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one, one_report, none_started = _build(_copy(filled, "one.db"), monkeypatch, parallel=False)
    two, two_report, (part,) = _build(filled, monkeypatch, parallel=True)
    assert none_started == [None] and part is not None
    assert part.low is not None and 0 < part.low < EVENTS  # the child's ids begin there
    assert two == one
    assert two_report["events"] == one_report["events"] == EVENTS
    assert one["rollup_commands"] and one["rollup_retries"]  # the tables compared are not empty
    assert not Path(part.path).exists()  # the child's database is removed


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="a parallel build needs two CPUs")
def test_a_child_that_fails_leaves_the_parent_to_fold_the_rest(
    filled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one, _, _ = _build(_copy(filled, "one.db"), monkeypatch, parallel=False)
    monkeypatch.setattr(parallel_build, "CHILD_MODULE", "nexus_cli.no_such_module")
    two, report, (part,) = _build(filled, monkeypatch, parallel=True)
    assert part is not None and part.child.returncode not in (0, None)
    assert two == one and report["events"] == EVENTS
    assert not Path(part.path).exists()


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="a parallel build needs two CPUs")
def test_a_row_for_the_quarantine_in_the_child_s_half_is_moved_aside_by_the_parent(
    filled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The child sees the events read-only: a row the fold puts aside stops it, and the parent,
    folding that half itself, moves the row as one process does."""
    with store.migrated(str(filled)) as db, db.atomic():
        db.execute("UPDATE event_rows SET session_id = 999999 WHERE id = ?", [EVENTS - 10])
    one, _, _ = _build(_copy(filled, "one.db"), monkeypatch, parallel=False)
    two, report, (part,) = _build(filled, monkeypatch, parallel=True)
    assert part is not None and part.child.returncode not in (0, None)
    assert two == one and report["events"] == EVENTS - 1
    assert [reason for reason, _ in two["quarantine"]] == ["not a valid events row"]


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="a parallel build needs two CPUs")
def test_an_event_the_parent_puts_aside_makes_it_find_the_retry_pairs_again(
    filled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure with a retry pair, in the parent's part, that the fold puts aside: the retry
    pairs come out as one process finds them, whether the child looked for them before the
    row was moved (the parent then finds them again) or after."""
    probe, _, _ = _build(_copy(filled, "probe.db"), monkeypatch, parallel=False)
    failed = min(row[0] for row in probe["rollup_retries"])  # a failure that has a retry
    assert failed <= EVENTS // 4  # in the parent's first chunk, taken before the child starts
    with store.migrated(str(filled)) as db, db.atomic():
        db.execute("UPDATE event_rows SET session_id = 999999 WHERE id = ?", [failed])
    one, _, _ = _build(_copy(filled, "one.db"), monkeypatch, parallel=False)
    assert failed not in {row[0] for row in one["rollup_retries"]}
    two, report, (part,) = _build(filled, monkeypatch, parallel=True)
    assert part is not None and part.child.returncode == 0  # the child did its part
    assert two == one and report["events"] == EVENTS - 1
    assert [reason for reason, _ in two["quarantine"]] == ["not a valid events row"]


def test_the_frontier_gives_every_id_once_from_both_ends(tmp_path: Path) -> None:
    """The parent's chunks from the bottom and the child's from the top cover (0, top] without
    overlap, and the last chunks are small (a quarter of what is left at most)."""
    top = 1_000_000
    frontier = parallel_build.Frontier.create(str(tmp_path / "f"), 0, top)
    low, high, taken = 0, top, []
    while True:
        end = frontier.take_up(low, low + 200_000)
        start = frontier.take_down(high, 200_000)
        if end == low and start == high:
            break
        taken += [(low, end), (start, high)]
        low, high = end, start
    assert low == high
    ranges = sorted(r for r in taken if r[0] != r[1])
    assert ranges[0][0] == 0 and ranges[-1][1] == top
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    last = [b - a for a, b in taken[-4:] if b > a]
    assert last and max(last) <= parallel_build.MIN_TAKE


@pytest.mark.parametrize("content", [b"", b"garbage", struct.pack("<qq", 5, 3)])
def test_a_frontier_file_that_is_not_two_ids_in_order_gives_nothing_to_take(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "f"
    frontier = parallel_build.Frontier.create(str(path), 0, 100)
    path.write_bytes(content)
    assert frontier.take_up(0, 50) == 0
    assert frontier.take_down(100, 50) == 100
    path.write_bytes(struct.pack("<qq", 0, 1000))  # beyond the build's last id
    assert frontier.take_down(1000, 50) == 1000
    path.unlink()
    assert frontier.take_up(0, 50) == 0 and frontier.take_down(100, 50) == 100


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="a parallel build needs two CPUs")
def test_a_frontier_changed_under_the_build_leaves_the_parent_to_fold_the_rest(
    filled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever the child took before the file was overwritten, the parent folds every id the
    child's part does not prove it folded: the tables are those one process makes."""
    one, _, _ = _build(_copy(filled, "one.db"), monkeypatch, parallel=False)

    def overwritten(db: Db, top: int, quarantined: int) -> parallel_build.Part | None:
        part = START(db, top, quarantined)
        assert part is not None
        Path(part.frontier.path).write_bytes(b"not two ids")
        return part

    monkeypatch.setattr(parallel_build, "PARALLEL_FROM", 1000)
    monkeypatch.setattr(rollups, "BUILD_CHUNK", 500)
    monkeypatch.setattr(parallel_build, "start", overwritten)
    with store.migrated(str(filled)) as db:
        report = rollups.rebuild(db, show_progress=False)
        assert _state(db) == one and report["events"] == EVENTS
    assert not list(filled.parent.glob("*.build-part*"))
