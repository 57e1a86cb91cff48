"""The task lifecycle through the CLI: create, claim, complete, review, reject, reopen, cancel."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from nexus_cli import paths
from tests.conftest import fold_telemetry, run_nexus, run_process
from tests.tasks.conftest import approve_review, last_event, new_task, ok, show


def test_create_list_show(tasks_project: Path) -> None:
    task_id = new_task("Write the parser", "-d", "Parse it all", "-p", "1", "--label", "core")
    assert task_id.startswith("nx-")
    listed = ok("task", "list", "--json").json()
    assert [t["id"] for t in listed] == [task_id]
    shown = show(task_id[3:6])  # a unique prefix, without "nx-"
    assert shown["title"] == "Write the parser"
    assert shown["description"] == "Parse it all"
    assert shown["priority"] == 1
    assert shown["labels"] == ["core"]
    assert shown["status"] == "open"
    assert shown["history"][0]["by"] == "alice"
    assert (tasks_project / ".nexus" / "tasks.jsonl").read_text().count("\n") == 1


def test_plain_listing_is_a_table(tasks_project: Path) -> None:
    task_id = new_task("Table me")
    out = ok("task", "list").stdout
    assert out.splitlines()[0].split() == ["ID", "PRI", "STATUS", "ASSIGNEE", "TITLE"]
    assert task_id in out


def test_full_lifecycle_to_done_without_review(tasks_project: Path) -> None:
    task_id = new_task("Ship it", "--gate", "true")
    ok("task", "start", task_id)
    assert show(task_id)["assignee"] == "alice"
    result = ok("task", "complete", task_id)
    assert "PASS  true" in result.stderr
    assert show(task_id)["status"] == "done"
    event = last_event("task complete")
    assert event["event_type"] == "task"
    assert event["task_hash"] and event["task_hash"] != task_id
    kinds = [s["kind"] for s in event["raw"]["signals"]]
    assert "gate_run" in kinds and "task_transition" in kinds
    transitions = [s for s in event["raw"]["signals"] if s["kind"] == "task_transition"]
    assert transitions[-1]["to_status"] == "done"


def test_review_reject_approve(tasks_project: Path) -> None:
    config = tasks_project / ".nexus" / "config.yaml"
    config.write_text(config.read_text().replace("require_review: false", "require_review: true"))
    task_id = new_task("Reviewed", "--gate", "true")
    ok("task", "claim", task_id)
    ok("task", "complete", task_id)
    assert show(task_id)["status"] == "review"
    ok("task", "reject", task_id, "--reason", "missing tests for edge cases")
    event = last_event("task reject")
    rejected = [s for s in event["raw"]["signals"] if s["kind"] == "task_rejected"]
    assert len(rejected) == 1 and len(rejected[0]["reason_hash"]) == 64
    assert "edge cases" not in event["raw_data"]
    assert show(task_id)["status"] == "rejected"
    ok("task", "complete", task_id)
    approve_review(task_id)
    data = show(task_id)
    assert data["status"] == "done"
    reasons = [h.get("reason") for h in data["history"] if h.get("to") == "rejected"]
    assert reasons == ["missing tests for edge cases"]
    history = ok("task", "history", task_id, "--json").json()
    assert [h.get("to") for h in history if h["action"] == "transition"] == [
        "in_progress",
        "verifying",
        "review",
        "rejected",
        "verifying",
        "review",
        "done",
    ]
    assert "missing tests" in ok("task", "context", task_id).stdout


def test_done_counts_a_completed_task(tasks_project: Path) -> None:
    task_id = new_task("Count me", "--gate", "true")
    ok("task", "start", task_id)
    ok("task", "complete", task_id)
    fold_telemetry()
    conn = sqlite3.connect(paths.telemetry_db_path())
    total = conn.execute("SELECT sum(tasks_completed) FROM sessions").fetchone()[0]
    conn.close()
    assert total == 1


def test_invalid_transition_is_refused(tasks_project: Path) -> None:
    task_id = new_task("Not started", "--gate", "true")
    result = run_nexus("task", "approve", task_id)
    assert result.exit_code == 1
    assert "is open; only a task in review can be approved" in result.stderr
    assert "Traceback" not in result.stderr
    assert show(task_id)["status"] == "open"


def test_cancel_needs_reason_and_reopen(tasks_project: Path) -> None:
    task_id = new_task("Maybe")
    assert run_nexus("task", "cancel", task_id).exit_code == 2
    ok("task", "cancel", task_id, "--reason", "duplicate")
    assert show(task_id)["status"] == "cancelled"
    ok("task", "reopen", task_id)
    assert show(task_id)["status"] == "open"


def test_assign_note_and_ready_for_me(tasks_project: Path) -> None:
    mine = new_task("Mine")
    theirs = new_task("Theirs")
    ok("task", "assign", theirs, "bob")
    ok("task", "note", mine, "remember the flaky test")
    ready = [t["id"] for t in ok("task", "ready", "--json").json()]
    assert ready == [mine]
    assert [t["id"] for t in ok("task", "ready", "--agent", "bob", "--json").json()] == [
        mine,
        theirs,
    ]
    assert show(mine)["notes"][0]["text"] == "remember the flaky test"
    assert [t["id"] for t in ok("task", "list", "--assignee", "bob", "--json").json()] == [theirs]


def test_ready_orders_by_priority_then_age(tasks_project: Path) -> None:
    low = new_task("Low", "-p", "3")
    high_old = new_task("High old", "-p", "0")
    high_new = new_task("High new", "-p", "0")
    assert [t["id"] for t in ok("task", "ready", "--json").json()] == [high_old, high_new, low]
    assert len(ok("task", "ready", "--limit", "1", "--json").json()) == 1


def test_task_survives_a_restart(tasks_project: Path) -> None:
    task_id = new_task("Persist me")
    proc = run_process("task", "show", task_id, "--json", cwd=tasks_project)
    assert proc.returncode == 0, proc.stderr
    assert '"Persist me"' in proc.stdout


def test_filters(tasks_project: Path) -> None:
    a = new_task("A", "--label", "ui", "--workspace", "feat")
    b = new_task("B", "--label", "api")
    ok("task", "start", b)
    ids = lambda *args: [t["id"] for t in ok("task", "list", "--json", *args).json()]  # noqa: E731
    assert ids("--label", "ui") == [a]
    assert ids("--status", "in_progress") == [b]
    assert ids("--workspace", "feat") == [a]


def test_commands_outside_a_project_fail_cleanly(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(git_repo)
    result = run_nexus("task", "list")
    assert result.exit_code == 1
    assert "nexus init" in result.stderr
