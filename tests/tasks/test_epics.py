"""Epics: subtasks (`--parent`), `list --tree`, a parent done only after its children, `ready`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nexus_cli.errors import ConflictError
from tests.conftest import run_nexus
from tests.tasks.conftest import approve_all, approve_review, new_task, ok, show


def _ready() -> list[str]:
    return [t["id"] for t in ok("task", "ready", "--json").json()]


def test_a_parent_waits_for_its_children(tasks_project: Path) -> None:
    epic = new_task("Epic", "--gate", "true")
    child = new_task("Child", "--gate", "true", "--parent", epic)
    other = new_task("Other child", "--parent", epic[3:7])  # a prefix names the parent
    assert show(child)["parent"] == epic and show(other)["parent"] == epic
    assert show(child)["history"][0]["parent"] == epic
    assert epic not in _ready() and child in _ready()
    ok("task", "start", epic)
    refused = run_nexus("task", "complete", epic)
    assert refused.exit_code != 0
    waiting = ", ".join(f"{i} (open)" for i in sorted([child, other]))
    assert f"task {epic} has unfinished subtasks: {waiting}" in refused.stderr
    assert show(epic)["status"] == "in_progress"  # nothing ran, nothing moved
    ok("task", "cancel", other, "--reason", "not needed")
    approve_all(tasks_project, child)
    ok("task", "start", child)
    ok("task", "complete", child)
    ok("task", "complete", epic)
    assert show(epic)["status"] == "done"


def test_a_parent_in_review_is_approved_only_after_its_children(tasks_project: Path) -> None:
    config = tasks_project / ".nexus" / "config.yaml"
    config.write_text(config.read_text().replace("require_review: false", "require_review: true"))
    epic = new_task("Epic", "--gate", "true")
    ok("task", "start", epic)
    ok("task", "complete", epic)
    assert show(epic)["status"] == "review"
    # A subtask added to a task in review (not finished yet) blocks its approval.
    child = new_task("Late child", "--parent", epic)
    with pytest.raises(ConflictError, match=child):
        approve_review(epic)
    ok("task", "cancel", child, "--reason", "dropped")
    approve_review(epic)
    assert show(epic)["status"] == "done"


def test_parent_loops_and_finished_parents_are_refused(tasks_project: Path) -> None:
    top = new_task("Top")
    middle = new_task("Middle", "--parent", top)
    bottom = new_task("Bottom", "--parent", middle)
    loop = run_nexus("task", "edit", top, "--parent", bottom)
    assert loop.exit_code == 2
    assert f"would create the loop {top} -> {bottom} -> {middle} -> {top}" in loop.stderr
    ok("task", "cancel", bottom, "--reason", "x")
    refused = run_nexus("task", "create", "Under cancelled", "--no-gates", "--parent", bottom)
    assert refused.exit_code != 0 and "cannot take new subtasks" in refused.stderr
    ok("task", "edit", bottom, "--no-parent")
    assert "parent" not in show(bottom)


def test_list_tree_and_filters(tasks_project: Path) -> None:
    epic = new_task("Epic")
    first = new_task("First", "--parent", epic, "--label", "ui")
    grand = new_task("Grandchild", "--parent", first)
    loose = new_task("Loose", "--label", "ui")
    ok("task", "assign", loose, "bob")
    tree = ok("task", "list", "--tree", "--json").json()
    by_id = {n["id"]: n for n in tree}
    assert set(by_id) == {epic, loose}
    assert [c["id"] for c in by_id[epic]["children"]] == [first]
    assert [c["id"] for c in by_id[epic]["children"][0]["children"]] == [grand]
    table = ok("task", "list", "--tree").stdout
    assert "  └ First" in table and "    └ Grandchild" in table
    assert [t["id"] for t in ok("task", "list", "--parent", epic, "--json").json()] == [first]
    labelled = ok("task", "list", "--label", "ui", "--assignee", "bob", "--json").json()
    assert [t["id"] for t in labelled] == [loose]
    assert len(ok("task", "list", "--since", "1h", "--json").json()) == 4
    assert ok("task", "list", "--since", "2999-01-01", "--json").json() == []
    bad = run_nexus("task", "list", "--since", "yesterday")
    assert bad.exit_code == 2 and "--since" in bad.stderr


def test_a_hand_edited_parent_loop_neither_hangs_nor_hides_tasks(tasks_project: Path) -> None:
    a, b = new_task("A"), new_task("B")
    path = tasks_project / ".nexus" / "tasks.jsonl"
    lines = []
    for line in path.read_text().splitlines():
        data = json.loads(line)
        data["parent"] = b if data["id"] == a else a
        lines.append(json.dumps(data))
    path.write_text("\n".join(lines) + "\n")
    tree = ok("task", "list", "--tree", "--json").json()
    assert sorted(_ids(tree)) == sorted([a, b])
    assert ok("task", "ready", "--json").json() == []  # each waits on the other: neither offered


def _ids(nodes: list[dict[str, object]]) -> list[str]:
    found: list[str] = []
    for node in nodes:
        found.append(str(node["id"]))
        found += _ids(node["children"])  # type: ignore[arg-type]
    return found
