"""Which gate runs of a task's history belong to its closing and its last passing verification."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from nexus_cli.tasks.gate_runs import completing_run, last_passing_run
from nexus_cli.tasks.model import Task

AT = [(datetime.now(UTC) - timedelta(minutes=60 - i)).isoformat() for i in range(12)]


def _move(at: str, old: str, new: str) -> dict[str, Any]:
    return {"at": at, "by": "a", "action": "transition", "from": old, "to": new}


def _gate(
    at: str, receipt_at: str | None, gate: int, gates: int, *, passed: bool = True
) -> dict[str, Any]:
    entry: dict[str, Any] = {"at": at, "by": "a", "action": "gate_run", "passed": passed}
    if receipt_at is not None:
        entry["receipt"] = {"at": receipt_at, "run": {"gate": gate, "gates": gates}}
    return entry


def _task(history: list[dict[str, Any]]) -> Task:
    return Task(id="t-1", title="t", status="done", history=history)


def test_completing_run_holds_only_the_runs_of_the_verification_that_closed_the_task() -> None:
    history = [
        _move(AT[0], "open", "in_progress"),
        _move(AT[1], "in_progress", "verifying"),
        _gate(AT[2], AT[2], 1, 1, passed=False),
        _move(AT[3], "verifying", "in_progress"),  # failed: back to work
        _move(AT[4], "in_progress", "verifying"),
        _gate(AT[5], AT[5], 1, 2),
        _gate(AT[6], AT[5], 2, 2),
        _move(AT[7], "verifying", "done"),
        {"at": AT[8], "by": "a", "action": "comment", "text": "shipped"},
    ]
    found = completing_run(history)
    assert found is not None
    closing, run = found
    assert closing == history[7]
    assert (run.purpose, run.at) == ("complete", AT[7])
    assert run.entries == [history[5], history[6]]
    assert [r["run"]["gate"] for r in run.receipts] == [1, 2]


def test_completing_run_is_none_when_no_verification_closed_the_task() -> None:
    assert completing_run([]) is None
    reopened = [_move(AT[0], "in_progress", "verifying"), _move(AT[1], "verifying", "in_progress")]
    assert completing_run(reopened) is None
    cancelled = [_move(AT[0], "open", "cancelled")]
    assert completing_run(cancelled) is None
    # entries that are not objects (a hand-edited tasks.jsonl) are passed over
    assert completing_run(["junk", 3, *reopened]) is None  # type: ignore[list-item]


def test_a_verification_to_review_closes_the_task_too() -> None:
    history = [_move(AT[0], "in_progress", "verifying"), _gate(AT[1], AT[1], 1, 1)]
    history.append(_move(AT[2], "verifying", "review"))
    found = completing_run(history)
    assert found is not None and found[1].entries == [history[1]]


def test_last_passing_run_is_the_newest_verification_with_every_receipt() -> None:
    history = [
        _gate(AT[0], AT[0], 1, 2),
        _gate(AT[1], AT[0], 2, 2),  # the first verification: both gates passed
        _gate(AT[2], AT[2], 1, 2),  # the second: one receipt of two (its second gate failed)
        _gate(AT[3], None, 2, 2, passed=False),
    ]
    run = last_passing_run(_task(history))
    assert run is not None
    assert run.at == AT[0] and run.entries == history[:2]
    assert last_passing_run(_task(history[2:])) is None
    assert last_passing_run(_task([])) is None
