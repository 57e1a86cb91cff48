"""check-receipts: closed tasks re-verified offline, in a fresh clone, against the closing commit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nexus_cli.errors import UsageError
from nexus_cli.project import find_project
from nexus_cli.tasks.receipt_check import check
from tests.conftest import git, run_nexus
from tests.tasks.conftest import close_task, commit_all, edit_task_line, new_task, ok


def _clone(repo: Path, tmp_path: Path) -> Path:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    return clone


def _check(root: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = run_nexus("-C", str(root), "task", "check-receipts", "--json", *args)
    assert "Traceback" not in result.stderr
    data: dict[str, Any] = result.json()
    return result.exit_code, data


def _problems(data: dict[str, Any], task_id: str) -> str:
    return "; ".join(next(t["problems"] for t in data["tasks"] if t["id"] == task_id))


def test_receipts_hold_in_a_fresh_clone_after_the_closing_commit(
    tasks_project: Path, tmp_path: Path
) -> None:
    task_id = close_task(tasks_project, "Ship", "echo shipped", "test -f README.md")
    closing = commit_all(tasks_project, "ship")
    (tasks_project / "later.txt").write_text("work after the close\n")
    commit_all(tasks_project, "later")  # later commits do not move the closing commit
    clone = _clone(tasks_project, tmp_path)
    code, data = _check(clone)
    assert code == 0, data
    assert data["ok"] is True and data["since"] is None
    [only] = data["tasks"]
    assert only == {
        "id": task_id,
        "status": "done",
        "ok": True,
        "closed_in": closing,
        "committed": True,
        "receipts": 2,
        "problems": [],
    }


def test_a_closed_task_not_committed_yet_is_compared_with_the_worktree(
    tasks_project: Path,
) -> None:
    task_id = close_task(tasks_project, "Local", "true")
    result = run_nexus("task", "check-receipts")
    assert result.exit_code == 0, result.stderr
    assert f"{task_id}: closed but not committed yet: compared with the worktree" in result.stderr
    (tasks_project / "README.md").write_text("changed after the gates ran\n")
    code, data = _check(tasks_project)
    assert code == 1
    assert "is not the tree of the worktree" in _problems(data, task_id)
    assert "closed but not committed yet" in _problems(data, task_id)


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda r: r.update(output_tail="all 500 tests passed"), "output hash does not match"),
        (lambda r: r.update(tree="0" * 40), "the tree it ran on (000000000000) is not the tree"),
        (lambda r: r.update(approved=None), "does not say the gate was approved"),
        (lambda r: r.update(task="nx-zzzz"), "the receipt is for another task"),
        (lambda r: r.update(exit_code=1), "the receipt records exit 1"),
    ],
    ids=["output", "tree", "approval", "task", "exit"],
)
def test_an_edited_receipt_fails_with_a_clear_message(
    tasks_project: Path, tmp_path: Path, tamper: Any, message: str
) -> None:
    task_id = close_task(tasks_project, "Ship", "echo shipped")
    commit_all(tasks_project, "ship")
    before = run_nexus("-C", str(tasks_project), "task", "check-receipts")
    assert before.stdout == "1 closed task: every receipt holds\n"

    def edit(data: dict[str, Any]) -> None:
        for entry in data["history"]:
            if "receipt" in entry:
                tamper(entry["receipt"])

    edit_task_line(tasks_project, task_id, edit)
    commit_all(tasks_project, "tamper")
    code, data = _check(_clone(tasks_project, tmp_path))
    assert code == 1
    assert message in _problems(data, task_id), data
    result = run_nexus("-C", str(tasks_project), "task", "check-receipts")
    assert result.exit_code == 1
    assert result.stdout.startswith(f"{task_id}: gate `echo shipped`") or message in result.stdout
    assert "error: 1 of 1 closed tasks fail their receipt check" in result.stderr


def test_a_changed_gate_command_fails(tasks_project: Path) -> None:
    task_id = close_task(tasks_project, "Ship", "false || true")
    commit_all(tasks_project, "ship")
    edit_task_line(tasks_project, task_id, lambda d: d["gates"][0].update(command="true"))
    commit_all(tasks_project, "swap the gate")
    code, data = _check(tasks_project)
    assert code == 1
    assert _problems(data, task_id) == "gate `true`: receipt's command does not match the gate"


def test_an_added_gate_has_no_receipt(tasks_project: Path) -> None:
    task_id = close_task(tasks_project, "Ship", "true")
    edit_task_line(
        tasks_project,
        task_id,
        lambda d: d["gates"].append({"command": "pytest", "timeout_s": 600, "service": None}),
    )
    code, data = _check(tasks_project)
    assert code == 1 and _problems(data, task_id) == "gate `pytest` has no receipt"


def test_a_commit_that_closes_the_task_with_other_code_fails(tasks_project: Path) -> None:
    task_id = close_task(tasks_project, "Ship", "grep -q test README.md")
    (tasks_project / "README.md").write_text("not what the gate saw\n")
    closing = commit_all(tasks_project, "ship, with other code")
    code, data = _check(tasks_project)
    assert code == 1
    problems = _problems(data, task_id)
    assert "the tree it ran on (" in problems
    assert f"is not the tree of the commit that closed it ({closing[:12]}" in problems


def test_a_task_marked_done_by_hand_has_no_verification(tasks_project: Path) -> None:
    task_id = new_task("Forged", "--gate", "false")
    edit_task_line(tasks_project, task_id, lambda d: d.update(status="done"))
    commit_all(tasks_project, "forged")
    code, data = _check(tasks_project)
    assert code == 1
    assert _problems(data, task_id) == "no verification closed it (it became done without gates)"


def test_since_checks_only_tasks_closed_after_ref(tasks_project: Path) -> None:
    old = close_task(tasks_project, "Old", "true")
    edit_task_line(tasks_project, old, lambda d: d["gates"][0].update(command="echo swapped"))
    base = commit_all(tasks_project, "old, broken")
    assert _check(tasks_project)[0] == 1
    new = close_task(tasks_project, "New", "true")
    commit_all(tasks_project, "new")
    local = close_task(tasks_project, "Local", "true")  # closed, not committed: after REF too
    code, data = _check(tasks_project, "--since", base)
    assert code == 0, data
    assert data["since"] == base
    assert sorted(t["id"] for t in data["tasks"]) == sorted([new, local])
    assert {t["id"]: t["committed"] for t in data["tasks"]} == {new: True, local: False}


def test_review_tasks_are_checked_and_no_gates_tasks_pass(tasks_project: Path) -> None:
    config = tasks_project / ".nexus" / "config.yaml"
    config.write_text(config.read_text().replace("require_review: false", "require_review: true"))
    in_review = close_task(tasks_project, "Reviewed", "true")
    free = new_task("Free", "--no-gates")
    ok("task", "start", free)
    ok("task", "complete", free)
    commit_all(tasks_project, "close")
    code, data = _check(tasks_project)
    assert code == 0, data
    assert {t["id"]: t["status"] for t in data["tasks"]} == {in_review: "review", free: "review"}


def test_a_bad_since_is_one_clear_line(tasks_project: Path) -> None:
    result = run_nexus("task", "check-receipts", "--since", "no-such-ref")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: 'no-such-ref' does not name a commit")
    assert "--since" in result.stderr and "Traceback" not in result.stderr
    with pytest.raises(UsageError):
        check(find_project(tasks_project), since="--all")
