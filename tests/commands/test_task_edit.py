"""`nexus task edit|split|defer` (commands/task_edit.py): flags, a real $EDITOR, approvals."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from nexus_cli.project import find_project
from nexus_cli.tasks import approvals
from nexus_cli.tasks.model import Gate, Task
from tests.conftest import run_nexus
from tests.tasks.conftest import new_task, ok, show

# An editor: a real program that $EDITOR names. It applies the Python replacements in
# $EDIT_STEPS (one step per call, ';;'-separated, each 'old=>new' pairs split by '||'), and
# counts its calls in the file $EDIT_CALLS.
EDITOR = """\
import os, sys
path = sys.argv[-1]
calls_file = os.environ["EDIT_CALLS"]
calls = int(open(calls_file).read() or 0) if os.path.exists(calls_file) else 0
open(calls_file, "w").write(str(calls + 1))
steps = os.environ.get("EDIT_STEPS", "").split(";;")
step = steps[min(calls, len(steps) - 1)]
text = open(path).read()
for pair in filter(None, step.split("||")):
    old, new = pair.split("=>")
    assert old in text, (old, text)
    text = text.replace(old, new.replace("\\\\n", "\\n"))
open(path, "w").write(text)
"""


@pytest.fixture
def editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    script = tmp_path / "editor.py"
    script.write_text(EDITOR)
    calls = tmp_path / "calls"
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDIT_CALLS", str(calls))
    return calls


def _actions(task_id: str) -> list[str]:
    return [h["action"] for h in show(task_id)["history"]]


def test_flags_change_each_field_with_a_history_entry(project: Path) -> None:
    dep = new_task("Dependency")
    task_id = new_task("Old title", "--label", "a")
    out = ok(
        "task", "edit", task_id, "--title", "New title", "-d", "what done is", "-p", "0",
        "--add-label", "b", "--remove-label", "a", "--add-dep", dep, "--json",
    ).json()  # fmt: skip
    assert (out["title"], out["description"], out["priority"]) == ("New title", "what done is", 0)
    assert out["labels"] == ["b"] and out["depends_on"] == [dep]
    edits = [h for h in out["history"] if h["action"] == "edited"]
    assert [(h["field"], h.get("from"), h.get("to")) for h in edits] == [
        ("title", "Old title", "New title"),
        ("description", None, None),
        ("priority", 2, 0),
    ]
    assert {"labels_changed", "dependency_added"} <= set(_actions(task_id))
    ok("task", "edit", task_id, "--remove-dep", dep)
    assert show(task_id)["depends_on"] == []


def test_edit_refuses_a_cycle_and_nothing_to_change(project: Path) -> None:
    first = new_task("First")
    second = new_task("Second", "--depends-on", first)
    result = run_nexus("task", "edit", first, "--add-dep", second)
    assert result.exit_code == 2 and "would create the cycle" in result.stderr
    assert show(first)["depends_on"] == []
    loop = run_nexus("task", "edit", first, "--parent", first)
    assert loop.exit_code == 2 and "cannot be its own parent" in loop.stderr


def test_no_flag_without_a_terminal_or_editor_is_one_error(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task_id = new_task("Alone")
    monkeypatch.delenv("EDITOR", raising=False)
    monkeypatch.delenv("VISUAL", raising=False)
    result = run_nexus("task", "edit", task_id)
    assert result.exit_code == 2 and "no terminal to open an editor in" in result.stderr


def test_a_gate_changed_without_a_terminal_waits_for_approval(project: Path) -> None:
    task_id = new_task("Gated", "--gate", "true")
    result = ok("task", "edit", task_id, "--gate", "test -d .", "--gate", "true")
    assert "waits for a person's approval" in result.stderr
    task = show(task_id)
    waiting = approvals.pending(find_project(), _model(task))
    assert [g.command for g in waiting] == ["test -d ."]  # `true` kept its approval
    assert task["history"][-1]["action"] == "gates_changed"
    assert task["history"][-1]["from"] == ["true"]


@pytest.mark.usefixtures("answering_terminal")
def test_a_gate_changed_at_a_terminal_is_approved_like_gate_add(project: Path) -> None:
    task_id = new_task("Gated", "--gate", "true")
    ok("task", "edit", task_id, "--gate", "test -d .")
    approval = approvals.approval_for(find_project(), task_id, Gate("test -d ."))
    assert approval is not None and approval.how == "gate-add"
    ok("task", "start", task_id)
    ok("task", "complete", task_id)
    assert show(task_id)["status"] == "done"


def _model(data: dict[str, Any]) -> Task:
    return Task.from_dict(data)


def test_the_editor_changes_what_was_edited(
    project: Path, editor: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task_id = new_task("Draft", "--label", "old")
    monkeypatch.setenv(
        "EDIT_STEPS",
        "title: Draft=>title: Final||priority: 2=>priority: 1||- old=>- new||"
        "description: ''=>description: |-\\n  line one\\n  line two",
    )
    out = ok("task", "edit", task_id, "--json").json()
    assert out["title"] == "Final" and out["priority"] == 1 and out["labels"] == ["new"]
    assert out["description"] == "line one\nline two"
    assert editor.read_text() == "1"
    assert _actions(task_id).count("edited") == 3


def test_an_unchanged_file_changes_nothing(
    project: Path, editor: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task_id = new_task("Keep")
    before = (project / ".nexus" / "tasks.jsonl").read_text()
    monkeypatch.setenv("EDIT_STEPS", "")
    result = ok("task", "edit", task_id)
    assert "no change" in result.stderr
    assert (project / ".nexus" / "tasks.jsonl").read_text() == before


@pytest.mark.usefixtures("answering_terminal")
def test_a_mistake_points_at_the_line_and_offers_to_edit_again(
    project: Path, editor: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task_id = new_task("Fix me")
    # First save: a bad priority. Second (on the text as left): fix it and rename.
    monkeypatch.setenv(
        "EDIT_STEPS", "priority: 2=>priority: 7;;priority: 7=>priority: 3||Fix me=>Fixed"
    )
    result = run_nexus("task", "edit", task_id, input="y\n")
    assert result.exit_code == 0, result.stderr
    assert f"{task_id}.yaml: line 6: priority: must be a whole number 0-4, not 7" in result.stderr
    assert editor.read_text() == "2"
    assert (show(task_id)["priority"], show(task_id)["title"]) == (3, "Fixed")


@pytest.mark.usefixtures("answering_terminal")
def test_giving_up_after_a_mistake_changes_nothing(
    project: Path, editor: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task_id = new_task("Stay")
    monkeypatch.setenv("EDIT_STEPS", "title: Stay=>title: ''")
    result = run_nexus("task", "edit", task_id, input="n\n")
    assert result.exit_code == 2 and "nothing changed" in result.stderr
    assert show(task_id)["title"] == "Stay"


def test_without_a_terminal_a_mistake_is_one_error(
    project: Path, editor: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task_id = new_task("Stay")
    monkeypatch.setenv("EDIT_STEPS", "priority: 2=>priority: high")
    result = run_nexus("task", "edit", task_id)
    assert result.exit_code != 0 and "line 6: priority" in result.stderr
    assert "Traceback" not in result.stderr and editor.read_text() == "1"


def test_split_into_subtasks_from_flags_and_a_file(project: Path, tmp_path: Path) -> None:
    epic = new_task("Epic", "--gate", "true", "--label", "big")
    listing = tmp_path / "subtasks.txt"
    listing.write_text("# from an agent\nThird part\n\n  Fourth part  \n")
    out = ok(
        "task", "split", epic, "--into", "First part", "--from-file", str(listing), "--json"
    ).json()
    children = out["children"]
    assert [c["title"] for c in children] == ["First part", "Third part", "Fourth part"]
    assert all(c["parent"] == epic and c["labels"] == ["big"] for c in children)
    assert all(c["gates"][0]["command"] == "true" for c in children)
    assert out["parent"]["history"][-1] == {
        **out["parent"]["history"][-1], "action": "split", "into": [c["id"] for c in children]
    }  # fmt: skip
    # The person's split approves the copied gates, as creating a task does.
    ok("task", "start", children[0]["id"])
    ok("task", "complete", children[0]["id"])
    missing = run_nexus("task", "split", epic, "--from-file", str(tmp_path / "none"))
    assert missing.exit_code == 2 and "cannot read" in missing.stderr
    empty = run_nexus("task", "split", epic, "--from-file", "-", input="# nothing\n\n")
    assert empty.exit_code == 2 and "standard input holds no subtask title" in empty.stderr


def test_defer_until_a_date_and_clear(project: Path) -> None:
    task_id = new_task("Later")
    soon = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%d")
    out = ok("task", "defer", task_id, "--until", soon, "--json").json()
    assert out["deferred_until"] == f"{soon}T00:00:00.000000Z"
    assert task_id not in [t["id"] for t in ok("task", "ready", "--json").json()]
    past = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%MZ")
    ok("task", "defer", task_id, "--until", past)
    assert task_id in [t["id"] for t in ok("task", "ready", "--json").json()]
    ok("task", "defer", task_id, "--clear")
    assert "deferred_until" not in show(task_id)
    for bad in ("tomorrow", "24/12/2026", "2026-02-30", "2026-12-24T09:00"):
        result = run_nexus("task", "defer", task_id, "--until", bad)
        assert result.exit_code == 2 and "--until" in result.stderr, bad
    assert run_nexus("task", "defer", task_id).exit_code == 2
