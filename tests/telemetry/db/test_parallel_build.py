"""A roll-up build in two processes (parallel_build.py) makes exactly the tables one process
makes; a child that fails, or meets a row for the quarantine, leaves the parent to fold the rest."""

from __future__ import annotations

import os
import shutil
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


def _build(
    path: Path, monkeypatch: pytest.MonkeyPatch, *, parallel: bool
) -> tuple[dict[str, Any], dict[str, Any], list[parallel_build.Part | None]]:
    """Rebuild ``path``'s roll-ups (in two processes when ``parallel``): (its state, the
    rebuild's report, the parts started)."""
    started: list[parallel_build.Part | None] = []

    def spy(db: Db, top: int, quarantined: int) -> parallel_build.Part | None:
        part = START(db, top, quarantined)
        started.append(part)
        return part

    monkeypatch.setattr(parallel_build, "PARALLEL_FROM", 1000 if parallel else 10**12)
    monkeypatch.setattr(parallel_build, "CHILD_START_EVENTS", 0)  # a real split of these few
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
    assert none_started == [None] and part is not None and EVENTS // 2 < part.low < EVENTS
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
    assert failed < EVENTS // 2  # in the parent's part
    with store.migrated(str(filled)) as db, db.atomic():
        db.execute("UPDATE event_rows SET session_id = 999999 WHERE id = ?", [failed])
    one, _, _ = _build(_copy(filled, "one.db"), monkeypatch, parallel=False)
    assert failed not in {row[0] for row in one["rollup_retries"]}
    two, report, (part,) = _build(filled, monkeypatch, parallel=True)
    assert part is not None and part.child.returncode == 0  # the child did its part
    assert two == one and report["events"] == EVENTS - 1
    assert [reason for reason, _ in two["quarantine"]] == ["not a valid events row"]
