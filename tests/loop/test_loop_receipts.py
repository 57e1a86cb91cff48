"""Issue 24: a task the loop completes has receipts that hold in a fresh clone, and tampering
with a receipt, the gate or the tree after the close makes `task check-receipts` fail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import git, run_nexus
from tests.loop.conftest import AGENT, GATE
from tests.tasks.conftest import commit_all, edit_task_line, new_task, show


def _closed_by_the_loop(root: Path) -> str:
    task_id = new_task("Make status ok", "--gate", GATE)
    result = run_nexus("loop", "--task", task_id, "--agent", AGENT, "--max-iterations", "3")
    assert result.exit_code == 0, result.stderr
    assert show(task_id)["status"] == "done"
    commit_all(root, "the loop closed it")
    return task_id


def _check(clone: Path) -> tuple[int, str, dict[str, Any]]:
    result = run_nexus("-C", str(clone), "task", "check-receipts", "--json")
    assert "Traceback" not in result.stderr
    return result.exit_code, result.stderr, json.loads(result.stdout)


def _clone(repo: Path, tmp_path: Path, name: str) -> Path:
    clone = tmp_path / name
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    return clone


def test_receipts_of_a_loop_completed_task_hold_in_a_fresh_clone(
    loop_project: Path, tmp_path: Path
) -> None:
    task_id = _closed_by_the_loop(loop_project)
    code, stderr, data = _check(_clone(loop_project, tmp_path, "fresh"))
    assert code == 0, (stderr, data)
    [only] = data["tasks"]
    assert only["id"] == task_id and only["ok"] is True and only["receipts"] == 1


def test_editing_a_receipt_the_gate_or_the_tree_fails_the_check(
    loop_project: Path, tmp_path: Path
) -> None:
    task_id = _closed_by_the_loop(loop_project)

    def receipt_of(line: dict[str, Any]) -> dict[str, Any]:
        runs = [h for h in line["history"] if h["action"] == "gate_run" and "receipt" in h]
        receipt: dict[str, Any] = runs[-1]["receipt"]
        return receipt

    def forged_output(line: dict[str, Any]) -> None:
        receipt_of(line)["output_tail"] = "all tests passed (really)"

    def swapped_gate(line: dict[str, Any]) -> None:
        line["gates"][0]["command"] = "true"

    for name, change, expected in (
        ("receipt", forged_output, "output hash does not match"),
        ("gate", swapped_gate, "receipt's command does not match the gate"),
    ):
        clone = _clone(loop_project, tmp_path, name)
        edit_task_line(clone, task_id, change)
        commit_all(clone, f"tamper with the {name}")
        code, stderr, data = _check(clone)
        assert code == 1, (name, data)
        [found] = data["tasks"]
        assert found["ok"] is False and expected in "; ".join(found["problems"]), (name, found)
        assert "1 of 1 closed tasks fail" in stderr

    clone = _clone(loop_project, tmp_path, "tree")
    (clone / "status.txt").write_text("not what the gate saw\n")
    git(clone, "commit", "-qam", "rewrite the closing commit", "--amend")
    code, _, data = _check(clone)
    assert code == 1
    [found] = data["tasks"]
    assert "is not the tree of the commit that closed it" in "; ".join(found["problems"])
