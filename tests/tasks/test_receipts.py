"""Receipts: every passing gate run leaves one in its history entry (complete and verify)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

from nexus_cli.project import find_project
from nexus_cli.tasks import approvals, receipts
from nexus_cli.tasks.model import Gate
from nexus_cli.tasks.verification import host_tag
from tests.conftest import git, run_nexus
from tests.tasks.conftest import (
    approve_all,
    close_task,
    gate_receipts,
    new_task,
    ok,
    task_line,
)


def _tree_by_hand(root: Path) -> str:
    """What the worktree's tree should be: everything not ignored, .nexus/ left out, written
    by git itself into a scratch index."""
    index = root.parent / "scratch-index"
    env = {**os.environ, "GIT_INDEX_FILE": str(index)}
    for args in (["add", "-A", "--", ".", ":(exclude).nexus"], ["write-tree"]):
        done = subprocess.run(
            ["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True
        )
    index.unlink()
    return done.stdout.strip()


def test_complete_leaves_a_receipt_for_each_passing_gate(tasks_project: Path) -> None:
    (tasks_project / "untracked.txt").write_text("part of the tree\n")
    task_id = close_task(tasks_project, "Ship", "echo shipped", "test -f README.md")
    found = gate_receipts(tasks_project, task_id)
    assert len(found) == 2
    first, second = found
    gate = Gate("echo shipped")
    assert first["command_sha256"] == approvals.gate_hash(gate)
    assert first["task"] == task_id and first["format"] == 1
    assert first["exit_code"] == 0 and isinstance(first["duration_ms"], int)
    assert first["output_tail"] == "shipped"
    assert first["output_sha256"] == hashlib.sha256(b"shipped").hexdigest()
    assert first["where"] == {"host": host_tag(), "dir": "."}
    assert first["approved"]["how"] == "created" and first["approved"]["at"]
    assert first["head"] == git(tasks_project, "rev-parse", "HEAD").strip()
    assert first["tree"] == _tree_by_hand(tasks_project)  # the untracked file is in it
    assert first["run"] == {"gate": 0, "gates": 2} and second["run"] == {"gate": 1, "gates": 2}
    assert first["at"] == second["at"] and first["tree"] == second["tree"]
    assert "signature" not in first and "signature_error" not in first  # no key configured
    # the repository's own index was not touched by the temporary one
    assert "untracked.txt" not in git(tasks_project, "ls-files")


def test_the_tree_leaves_out_nexus_and_ignored_files(tasks_project: Path) -> None:
    task_id = close_task(tasks_project, "Ship", "true")
    tree = gate_receipts(tasks_project, task_id)[0]["tree"]
    (tasks_project / ".gitignore").write_text("ignored.log\n")
    git(tasks_project, "add", ".gitignore")
    git(tasks_project, "commit", "-q", "-m", "ignore")
    (tasks_project / "ignored.log").write_text("noise\n")
    (tasks_project / ".nexus" / "scratch").write_text("state\n")
    ok("task", "verify", task_id)
    after = gate_receipts(tasks_project, task_id)[-1]["tree"]
    names = git(tasks_project, "ls-tree", "--name-only", after).split()
    assert ".nexus" not in names and "ignored.log" not in names and ".gitignore" in names
    assert after != tree


def test_verify_leaves_receipts_and_a_failing_gate_none(tasks_project: Path) -> None:
    task_id = new_task("Half", "--gate", "echo ok", "--gate", "echo no; exit 4")
    approve_all(tasks_project, task_id)
    result = run_nexus("task", "verify", task_id)
    assert result.exit_code == 3
    runs = [h for h in task_line(tasks_project, task_id)["history"] if h["action"] == "gate_run"]
    assert [("receipt" in r, r["passed"]) for r in runs] == [(True, True), (False, False)]
    assert runs[0]["receipt"]["run"] == {"gate": 0, "gates": 2}


def test_a_gate_without_approval_runs_nothing_and_leaves_no_receipt(tasks_project: Path) -> None:
    task_id = new_task("Unapproved", "--gate", "touch ran")
    project = find_project(tasks_project)
    approvals.forget(project, [task_id])  # whatever creating it approved
    result = run_nexus("task", "verify", task_id)
    assert result.exit_code == 5, result
    assert not (tasks_project / "ran").exists()
    assert gate_receipts(tasks_project, task_id) == []


def test_a_trust_rule_approval_is_recorded_with_its_rule(
    tasks_project: Path, isolated_home: Path
) -> None:
    task_id = new_task("Ruled", "--gate", "true")
    approvals.forget(find_project(tasks_project), [task_id])
    trust = Path(approvals.trust_path())
    trust.parent.mkdir(parents=True, exist_ok=True)
    trust.write_text("rules:\n  - project: '*'\n    commands: ['true']\n")
    ok("task", "verify", task_id)
    approved = gate_receipts(tasks_project, task_id)[0]["approved"]
    assert approved == {"how": "rule", "at": None, "rule": "*: true"}


def test_last_passing_run_skips_a_verification_that_failed(tasks_project: Path) -> None:
    flag = tasks_project / "flag"
    flag.write_text("")
    task_id = new_task("Flaky", "--gate", "echo one", "--gate", "test -f flag")
    approve_all(tasks_project, task_id)
    ok("task", "verify", task_id)
    flag.unlink()
    assert run_nexus("task", "verify", task_id).exit_code == 3
    store_task = receipts.receipts_of(find_project(tasks_project), task_id)
    data = store_task.to_json()
    assert data["purpose"] == "verify" and len(data["receipts"]) == 2
    assert data["receipts"][1]["command"] == "test -f flag"
    # the failed verification's passing gate left a receipt, but it is not the one shown
    assert len(gate_receipts(tasks_project, task_id)) == 3
    assert data["at"] == gate_receipts(tasks_project, task_id)[0]["at"]


def test_a_signing_failure_does_not_fail_the_gate(tasks_project: Path) -> None:
    git(tasks_project, "config", "gpg.format", "ssh")
    git(tasks_project, "config", "user.signingkey", str(tasks_project / "no-such-key"))
    task_id = close_task(tasks_project, "Unsigned", "true")
    assert task_line(tasks_project, task_id)["status"] == "done"
    receipt = gate_receipts(tasks_project, task_id)[0]
    assert "signature" not in receipt and "signer" not in receipt
    assert "no-such-key" in receipt["signature_error"]


def test_receipts_survive_the_round_trip_through_tasks_jsonl(tasks_project: Path) -> None:
    task_id = close_task(tasks_project, "Kept", "printf 'caf\\303\\251\\n'")
    receipt = gate_receipts(tasks_project, task_id)[0]
    assert receipt["output_tail"] == "café"
    shown = ok("task", "show", task_id, "--json").json()
    assert json.dumps(shown["history"]).count('"receipt"') == 1
