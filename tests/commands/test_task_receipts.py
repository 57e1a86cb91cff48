"""`nexus task receipt` and `nexus task check-receipts` on the command line: text, JSON, exits."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexus_cli.mcp.schemas import errors
from tests.conftest import run_nexus
from tests.tasks.conftest import close_task, commit_all, edit_task_line, new_task


@pytest.fixture
def tasks_project(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NEXUS_AGENT", "alice")
    return project


def test_receipt_prints_the_proof_escaped(tasks_project: Path) -> None:
    task_id = close_task(tasks_project, "Ship", "printf 'ok \\033[2J done\\n'")
    result = run_nexus("task", "receipt", task_id)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.startswith(f"{task_id}  done  Ship\n")
    assert "receipts of its passing complete at " in out
    for label in ("command sha256: ", "tree: ", "where: host ", "approved: created at "):
        assert label in out
    assert "signed: no" in out
    assert "\x1b" not in out and "| ok ^[[2J done" in out


def test_receipt_json_validates_against_its_schema(tasks_project: Path) -> None:
    task_id = close_task(tasks_project, "Ship", "echo a", "echo b")
    data = run_nexus("task", "receipt", task_id, "--json").json()
    assert errors("task-receipt", data) == []
    assert [r["command"] for r in data["receipts"]] == ["echo a", "echo b"]
    assert data["task"] == task_id and data["purpose"] == "complete"


def test_receipt_of_a_task_that_never_passed_is_one_line(tasks_project: Path) -> None:
    task_id = new_task("Fresh", "--gate", "true")
    result = run_nexus("task", "receipt", task_id)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"error: task {task_id} has no receipts: no verification of it has passed yet"
    )
    missing = run_nexus("task", "receipt", "nx-zzzz")
    assert missing.exit_code == 1 and "Traceback" not in missing.stderr


def test_check_receipts_text_and_json(tasks_project: Path) -> None:
    good = close_task(tasks_project, "Good", "true")
    bad = close_task(tasks_project, "Bad", "echo out")
    commit_all(tasks_project, "close both")
    passing = run_nexus("task", "check-receipts")
    assert passing.exit_code == 0, passing.stdout
    assert passing.stdout == "2 closed tasks: every receipt holds\n"

    def edit(data: dict[str, object]) -> None:
        for entry in data["history"]:  # type: ignore[attr-defined]
            if "receipt" in entry:
                entry["receipt"]["output_tail"] = "\x1b[31mforged"

    edit_task_line(tasks_project, bad, edit)
    failing = run_nexus("task", "check-receipts")
    assert failing.exit_code == 1
    assert failing.stdout == (
        f"{bad}: gate `echo out`: output hash does not match its stored output\n"
    )
    assert failing.stderr == "error: 1 of 2 closed tasks fail their receipt check\n"
    data = run_nexus("task", "check-receipts", "--json").json()
    assert errors("task-check-receipts", data) == []
    assert data["ok"] is False
    assert {t["id"]: t["ok"] for t in data["tasks"]} == {good: True, bad: False}
