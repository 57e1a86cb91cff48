"""The tasks.jsonl merge driver: field-by-field, unit level and through a real two-clone pull."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nexus_cli.tasks import jsonl
from nexus_cli.tasks.compaction import compact_task
from nexus_cli.tasks.gitsetup import ATTRIBUTE_LINE, MEMORY_ATTRIBUTE_LINE, driver_command
from nexus_cli.tasks.merge import merge_files, merge_task, merge_tasks
from nexus_cli.tasks.model import Task, now_iso
from tests.conftest import git, run_nexus
from tests.tasks.conftest import new_task, ok


def _task(**kw: object) -> Task:
    base = {"id": "nx-aaaa", "title": "T", "created_at": "t0", "updated_at": "t0"}
    return Task.from_dict({**base, **kw})


def test_fields_take_the_changed_side_or_the_later_update() -> None:
    base = _task(title="T", priority=2, labels=["a", "b"])
    ours = _task(title="Ours", priority=2, labels=["a", "b", "c"], updated_at="t2")
    theirs = _task(title="Theirs", priority=0, labels=["a"], updated_at="t1")
    merged = merge_task(base, ours, theirs)
    assert merged.title == "Ours"  # both changed: later updated_at wins
    assert merged.priority == 0  # only theirs changed it
    assert merged.labels == ["a", "c"]  # b removed on one side, c added on the other
    assert merged.updated_at == "t2"


def test_history_and_notes_are_unioned() -> None:
    shared = {"at": "t0", "by": "a", "action": "created"}
    ours = _task(history=[shared, {"at": "t2", "by": "a", "action": "x"}], notes=[{"at": "t2"}])
    theirs = _task(history=[shared, {"at": "t1", "by": "b", "action": "y"}], notes=[{"at": "t1"}])
    merged = merge_task(_task(history=[shared]), ours, theirs)
    assert [h["at"] for h in merged.history] == ["t0", "t1", "t2"]
    assert [n["at"] for n in merged.notes] == ["t1", "t2"]


def test_added_and_deleted_tasks() -> None:
    kept = _task(id="nx-keep")
    gone = _task(id="nx-gone")
    result = merge_tasks(
        [kept, gone], [kept, gone, _task(id="nx-mine")], [kept, _task(id="nx-new")]
    )
    assert [t.id for t in result] == ["nx-keep", "nx-mine", "nx-new"]


def test_same_id_created_on_both_sides_is_a_conflict() -> None:
    from nexus_cli.errors import ConflictError

    ours = _task(title="Mine", created_at="t1")
    theirs = _task(title="Theirs", created_at="t2")
    with pytest.raises(ConflictError, match="created independently"):
        merge_tasks([], [ours], [theirs])


def _commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def _titles(repo: Path) -> dict[str, dict[str, object]]:
    result = run_nexus("-C", str(repo), "task", "list", "--json")
    assert result.exit_code == 0, result.stderr
    return {t["id"]: t for t in result.json()}


@pytest.mark.slow
def test_two_clones_share_tasks_through_git(tasks_project: Path, tmp_path: Path) -> None:
    origin = tasks_project
    assert ATTRIBUTE_LINE in (origin / ".gitattributes").read_text()
    shared_id = new_task("Shared task")
    _commit_all(origin, "tasks")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    ok("-C", str(clone), "init")
    git(clone, "config", "pull.rebase", "false")
    git(origin, "config", "pull.rebase", "false")
    # Both sides change the same task and add their own.
    ok("-C", str(origin), "task", "note", shared_id, "note from origin")
    mine = ok("-C", str(origin), "task", "create", "Origin task", "--no-gates", "--json").json()[
        "id"
    ]
    _commit_all(origin, "origin work")
    ok("-C", str(clone), "task", "claim", shared_id, "--agent", "bob")
    theirs = ok("-C", str(clone), "task", "create", "Clone task", "--no-gates", "--json").json()[
        "id"
    ]
    _commit_all(clone, "clone work")
    # The clone pulls origin: a real merge of tasks.jsonl, resolved by the driver.
    git(clone, "pull", "-q", "--no-edit", "origin", "main")
    text = (clone / ".nexus" / "tasks.jsonl").read_text()
    assert "<<<<<<<" not in text
    tasks = _titles(clone)
    assert set(tasks) == {shared_id, mine, theirs}
    shared = tasks[shared_id]
    assert shared["assignee"] == "bob" and shared["status"] == "in_progress"
    assert [n["text"] for n in shared["notes"]] == ["note from origin"]  # type: ignore[index]
    # And origin pulls the merge back: both clones agree.
    git(origin, "pull", "-q", "--no-edit", str(clone), "main")
    assert _titles(origin) == tasks
    assert git(origin, "status", "--porcelain").strip() == ""


def test_driver_refuses_conflict_markers(tmp_path: Path) -> None:
    good = jsonl.render_tasks([_task()])
    base, ours, theirs = (tmp_path / n for n in ("o", "a", "b"))
    base.write_bytes(good)
    ours.write_bytes(good)
    theirs.write_bytes(b"<<<<<<< x\n" + good)
    result = run_nexus("task", "merge-driver", str(base), str(ours), str(theirs))
    assert result.exit_code == 1 and "conflict marker" in result.stderr
    assert ours.read_bytes() == good


def test_driver_falls_back_to_nexus_on_path(tmp_path: Path) -> None:
    """When the recorded interpreter is gone (venv moved), `nexus` on PATH does the merge."""
    import shutil
    import sys

    nexus = shutil.which("nexus", path=str(Path(sys.executable).parent))
    assert nexus is not None
    command = driver_command("/nonexistent/python")
    base = _task()
    (tmp_path / "o").write_bytes(jsonl.render_tasks([base]))
    (tmp_path / "a").write_bytes(jsonl.render_tasks([base, _task(id="nx-mine")]))
    (tmp_path / "b").write_bytes(jsonl.render_tasks([base, _task(id="nx-them")]))
    line = command.replace("%O", "o").replace("%A", "a").replace("%B", "b")
    env = {**os.environ, "PATH": f"{Path(nexus).parent}:{os.environ['PATH']}"}
    subprocess.run(["sh", "-c", line], check=True, env=env, cwd=tmp_path)
    merged = jsonl.parse((tmp_path / "a").read_bytes(), source="a")
    assert [t.id for t in merged] == ["nx-aaaa", "nx-mine", "nx-them"]


def test_init_keeps_user_gitattributes(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(git_repo)
    (git_repo / ".gitattributes").write_text("*.png binary")
    ok("init")
    ok("init")
    text = (git_repo / ".gitattributes").read_text()
    assert text == f"*.png binary\n{ATTRIBUTE_LINE}\n{MEMORY_ATTRIBUTE_LINE}\n"
    assert "merge-driver" in git(git_repo, "config", "--get", "merge.nexus-tasks.driver")


def test_merge_files_merges_into_ours_and_tolerates_a_missing_base(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    ours.write_bytes(jsonl.render_tasks([_task(id="nx-mine")]))
    theirs.write_bytes(jsonl.render_tasks([_task(id="nx-them")]))
    assert merge_files(tmp_path / "no-base", ours, theirs) == 1
    assert [t.id for t in jsonl.parse(ours.read_bytes(), source="x")] == ["nx-mine", "nx-them"]
    assert theirs.read_bytes() == jsonl.render_tasks([_task(id="nx-them")])


def test_merge_files_names_the_bad_file(tmp_path: Path) -> None:
    from nexus_cli.errors import ConfigError

    base, ours, theirs = tmp_path / "base", tmp_path / "ours", tmp_path / "theirs"
    base.write_text("")
    ours.write_bytes(jsonl.render_tasks([_task()]))
    theirs.write_text('{"id": "nx-aaaa"}\n')
    with pytest.raises(ConfigError, match=f"^{theirs}:1: "):
        merge_files(base, ours, theirs)
    assert ours.read_bytes() == jsonl.render_tasks([_task()])


def test_conflict_hint_says_how_to_recover() -> None:
    from nexus_cli.errors import ConflictError

    with pytest.raises(ConflictError) as caught:
        merge_tasks([], [_task(created_at="t1")], [_task(created_at="t2")])
    assert caught.value.hint == "recreate one of them with `nexus task create` after the merge"


def test_a_task_known_to_base_is_merged_even_if_created_at_differs() -> None:
    base = _task()
    result = merge_tasks([base], [_task(created_at="t1", title="A")], [_task(created_at="t2")])
    assert [t.title for t in result] == ["A"]


def test_history_keeps_base_entries_and_sorts_by_time_then_content() -> None:
    old = {"at": "2026-01-01T00:00:00.000000Z", "by": "a", "action": "created"}
    undated = {"by": "z", "action": "imported"}
    first = {"at": "2026-01-02T00:00:00.000000Z", "by": "b", "action": "a"}
    second = {"at": "2026-01-02T00:00:00.000000Z", "action": "z", "by": "a"}
    base = _task(history=[old])
    ours = _task(history=[undated, second], updated_at="t1")
    theirs = _task(history=[first], updated_at="t1")
    for merged in (merge_task(base, ours, theirs), merge_task(base, theirs, ours)):
        assert merged.history == [undated, old, first, second]


def test_both_changed_with_equal_times_picks_the_same_value_either_way() -> None:
    base = _task(title="T")
    ours = _task(title="Apple", updated_at="t1")
    theirs = _task(title="Banana", updated_at="t1")
    assert merge_task(base, ours, theirs).title == "Banana"
    assert merge_task(base, theirs, ours).title == "Banana"
    assert merge_task(base, ours, theirs).updated_at == "t1"


def test_updated_at_is_the_latest_even_when_one_side_went_back_in_time() -> None:
    base = _task(updated_at="t5")
    merged = merge_task(base, _task(updated_at="t5"), _task(updated_at="t3", title="skewed"))
    assert (merged.updated_at, merged.title) == ("t5", "skewed")


def test_gate_lists_changed_on_both_sides_at_the_same_time_compare_by_sorted_keys() -> None:
    slow_in_a = {"command": "x", "timeout_s": 1, "service": "b"}
    fast_in_b = {"command": "x", "timeout_s": 2, "service": "a"}
    ours = _task(gates=[slow_in_a], updated_at="t1")
    theirs = _task(gates=[fast_in_b], updated_at="t1")
    for merged in (merge_task(_task(), ours, theirs), merge_task(_task(), theirs, ours)):
        assert [g.to_dict() for g in merged.gates] == [slow_in_a]


def test_the_same_entry_in_another_key_order_is_kept_once_whichever_side_has_it() -> None:
    one = {"at": "t1", "by": "a", "action": "x"}
    same = {"action": "x", "by": "a", "at": "t1"}
    ours, theirs = _task(history=[one]), _task(history=[same])
    for merged in (merge_task(None, ours, theirs), merge_task(None, theirs, ours)):
        assert [list(h) for h in merged.history] == [list(same)]


# --- parent/child links -------------------------------------------------------------------


def test_parent_link_takes_the_side_that_changed_it() -> None:
    base = _task(title="Child")
    ours = _task(title="Child", parent="nx-epic1", updated_at="t1")
    theirs = _task(title="Child renamed", updated_at="t2")
    for merged in (merge_task(base, ours, theirs), merge_task(base, theirs, ours)):
        assert (merged.parent, merged.title) == ("nx-epic1", "Child renamed")
    unlinked = merge_task(ours, _task(title="Child", updated_at="t3"), ours)
    assert unlinked.parent is None  # removed on one side, unchanged on the other
    both = merge_task(base, ours, _task(parent="nx-epic2", updated_at="t2"))
    assert both.parent == "nx-epic2"  # both changed: the later update


def test_links_that_make_a_loop_only_together_lose_the_newest() -> None:
    a0, b0 = _task(id="nx-aaaa"), _task(id="nx-bbbb")
    ours = [_task(id="nx-aaaa", parent="nx-bbbb", updated_at="t1"), b0]
    theirs = [a0, _task(id="nx-bbbb", parent="nx-aaaa", updated_at="t2")]
    for merged in (merge_tasks([a0, b0], ours, theirs), merge_tasks([a0, b0], theirs, ours)):
        assert {t.id: t.parent for t in merged} == {"nx-aaaa": "nx-bbbb", "nx-bbbb": None}


@pytest.mark.slow
def test_two_clones_edit_both_ends_of_parent_links(tasks_project: Path, tmp_path: Path) -> None:
    origin = tasks_project
    epic = new_task("Epic")
    child = new_task("Child", "--parent", epic)
    loose = new_task("Loose")
    _commit_all(origin, "tasks")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    ok("-C", str(clone), "init")
    for repo in (origin, clone):
        git(repo, "config", "pull.rebase", "false")
    # Origin: renames the epic, adds a subtask, moves `loose` under the epic.
    ok("-C", str(origin), "task", "edit", epic, "--title", "Epic renamed")
    added = new_task_in(origin, "Origin subtask", epic)
    ok("-C", str(origin), "task", "edit", loose, "--parent", epic)
    _commit_all(origin, "origin work")
    # Clone: splits the child further, edits the child, unlinks nothing.
    ok("-C", str(clone), "task", "edit", child, "--title", "Child renamed", "--add-label", "c")
    split = ok("-C", str(clone), "task", "split", child, "--into", "Grandchild", "--json").json()
    grand = split["children"][0]["id"]
    _commit_all(clone, "clone work")
    git(clone, "pull", "-q", "--no-edit", "origin", "main")
    assert "<<<<<<<" not in (clone / ".nexus" / "tasks.jsonl").read_text()
    tasks = _titles(clone)
    assert tasks[epic]["title"] == "Epic renamed"
    assert {i: tasks[i].get("parent") for i in (child, added, loose, grand)} == {
        child: epic, added: epic, loose: epic, grand: child
    }  # fmt: skip
    assert tasks[child]["title"] == "Child renamed" and tasks[child]["labels"] == ["c"]
    # The merged links work: the epic waits for all three children, the child for its own.
    ready = [t["id"] for t in ok("-C", str(clone), "task", "ready", "--json").json()]
    assert epic not in ready and child not in ready and grand in ready
    tree = ok("-C", str(clone), "task", "list", "--tree", "--json").json()
    top = next(n for n in tree if n["id"] == epic)
    assert sorted(c["id"] for c in top["children"]) == sorted([child, added, loose])
    git(origin, "pull", "-q", "--no-edit", str(clone), "main")
    assert _titles(origin) == tasks


@pytest.mark.slow
def test_two_clones_link_a_loop_and_the_merge_breaks_it(
    tasks_project: Path, tmp_path: Path
) -> None:
    origin = tasks_project
    a, b = new_task("A"), new_task("B")
    _commit_all(origin, "tasks")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    ok("-C", str(clone), "init")
    git(clone, "config", "pull.rebase", "false")
    ok("-C", str(origin), "task", "edit", a, "--parent", b)
    _commit_all(origin, "a under b")
    ok("-C", str(clone), "task", "edit", b, "--parent", a)  # later: this link goes
    _commit_all(clone, "b under a")
    git(clone, "pull", "-q", "--no-edit", "origin", "main")
    tasks = _titles(clone)
    assert tasks[a].get("parent") == b and "parent" not in tasks[b]


def new_task_in(repo: Path, title: str, parent: str) -> str:
    args = ("-C", str(repo), "task", "create", title, "--no-gates", "--parent", parent, "--json")
    return str(ok(*args).json()["id"])


def test_a_waiting_gate_and_an_approval_edited_on_both_sides_are_kept() -> None:
    wait = {"command": "approval: bob", "timeout_s": 600, "service": None, "wait": "approval"}
    later = {"command": "after: 2026-12-24T09:00:00.000000Z", "timeout_s": 600}
    later.update(service=None, wait="after")
    created = {"at": "t0", "by": "a", "action": "created"}
    approval = {"at": "t2", "by": "bob", "action": "approval", "as": "bob"}
    base = _task(gates=[wait], history=[created])
    ours = _task(gates=[wait], history=[created, approval], updated_at="t2")
    theirs = _task(gates=[wait, later], history=[created], updated_at="t1")
    for merged in (merge_task(base, ours, theirs), merge_task(base, theirs, ours)):
        assert [g.to_dict() for g in merged.gates] == [wait, later]
        assert approval in merged.history
        line = jsonl.parse(jsonl.render_tasks([merged]), source="merged")[0]
        assert [g.wait for g in line.gates] == ["approval", "after"]


@pytest.mark.slow
def test_two_clones_keep_a_waiting_gate_and_an_approval(
    tasks_project: Path, tmp_path: Path
) -> None:
    """Origin adds a waiting gate; the clone records bob's approval; a real pull merges both."""
    from nexus_cli.project import find_project
    from nexus_cli.tasks import actions

    origin = tasks_project
    task_id = new_task("Release", "--gate", "true", "--wait", "approval:bob")
    _commit_all(origin, "task")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    ok("-C", str(clone), "init")
    for repo in (origin, clone):
        git(repo, "config", "pull.rebase", "false")
    ok("-C", str(origin), "task", "gate", "add", task_id, "--wait", "task:../other#nx-ab12")
    _commit_all(origin, "origin waits on another repository too")
    actions.approve_as(find_project(clone), task_id, "bob", env={})
    _commit_all(clone, "bob approved")
    git(clone, "pull", "-q", "--no-edit", "origin", "main")
    assert "<<<<<<<" not in (clone / ".nexus" / "tasks.jsonl").read_text()
    merged = _titles(clone)[task_id]
    assert [g.get("wait") for g in merged["gates"]] == [None, "approval", "task"]  # type: ignore[union-attr]
    approvals = [h for h in merged["history"] if h["action"] == "approval"]  # type: ignore[union-attr]
    assert [(h["as"], h["by"]) for h in approvals] == [("bob", "alice")]


# --- compacted lines (nexus task compact) ------------------------------------------------------


def _closed_long_ago() -> Task:
    """A done task with a description, notes and history, closed 200 days ago."""
    moments = [
        (datetime.now(UTC) - timedelta(days=200 - i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        for i in range(5)
    ]
    receipt = {"at": moments[3], "run": {"gate": 0, "gates": 1}, "exit_code": 0}
    history = [
        {"at": moments[0], "by": "a", "action": "created", "to": "open"},
        {"at": moments[1], "by": "a", "action": "transition", "from": "open", "to": "in_progress"},
        {"at": moments[2], "by": "a", "action": "transition", "from": "in_progress", "to": "verifying"},
        {"at": moments[3], "by": "a", "action": "gate_run", "passed": True, "receipt": receipt},
        {"at": moments[4], "by": "a", "action": "transition", "from": "verifying", "to": "done"},
    ]  # fmt: skip
    notes = [{"at": moments[2], "by": "a", "text": "how it went"}]
    return _task(
        status="done",
        description="Summary line\nand the long rest",
        notes=notes,
        history=history,
        labels=["x"],
        depends_on=["nx-bbbb"],
        created_at=moments[0],
        updated_at=moments[4],
    )


def _compacted(task: Task) -> Task:
    result = compact_task(task, now_iso())
    assert result is not None
    return result


def _both_ways(base: Task | None, one: Task, other: Task) -> Task:
    forward = merge_tasks([base] if base else [], [one], [other])
    backward = merge_tasks([base] if base else [], [other], [one])
    assert [t.to_line() for t in forward] == [t.to_line() for t in backward]  # symmetric
    [merged] = forward
    return merged


def test_a_compacted_line_wins_over_a_side_that_left_the_task_alone() -> None:
    base = _closed_long_ago()
    short = _compacted(base)
    assert _both_ways(base, short, base).to_line() == short.to_line()


def test_an_edit_on_the_other_side_brings_the_compacted_task_back_whole() -> None:
    base = _closed_long_ago()
    short = _compacted(base)
    edited = Task.from_dict(base.to_dict())
    edited.notes = [*base.notes, {"at": now_iso(), "by": "b", "text": "one more thing"}]
    edited.labels = ["x", "y"]
    edited.updated_at = now_iso()
    merged = _both_ways(base, short, edited)
    assert merged.compacted is None
    assert merged.description == base.description
    assert merged.history == base.history  # nothing compaction dropped is lost
    assert [n["text"] for n in merged.notes] == ["how it went", "one more thing"]
    assert merged.labels == ["x", "y"] and merged.updated_at == edited.updated_at


def test_a_reopen_on_the_other_side_reopens_the_whole_task() -> None:
    base = _closed_long_ago()
    reopened = Task.from_dict(base.to_dict())
    reopened.status = "open"
    reopened.updated_at = now_iso()
    reopened.history = [
        *base.history,
        {
            "at": reopened.updated_at,
            "by": "b",
            "action": "transition",
            "from": "done",
            "to": "open",
        },
    ]
    merged = _both_ways(base, _compacted(base), reopened)
    assert merged.status == "open" and merged.compacted is None
    assert merged.history == reopened.history and merged.notes == base.notes


def test_compacted_on_both_sides_stays_compacted() -> None:
    base = _closed_long_ago()
    one, other = _compacted(base), _compacted(base)
    merged = _both_ways(base, one, other)
    assert merged.compacted is not None and merged.notes == []
    assert merged.history == one.history and merged.description == "Summary line"


def test_a_compacted_task_edited_after_compaction_keeps_the_edit() -> None:
    base = _closed_long_ago()
    short = _compacted(base)
    short.description = "Rewritten after compaction"
    short.updated_at = now_iso()
    noted = Task.from_dict(base.to_dict())
    noted.notes = [*base.notes, {"at": now_iso(), "by": "b", "text": "later"}]
    noted.updated_at = short.updated_at
    merged = _both_ways(base, short, noted)
    assert merged.description == "Rewritten after compaction" and merged.compacted is None
    assert [n["text"] for n in merged.notes] == ["how it went", "later"]


def test_without_a_base_the_whole_task_is_kept() -> None:
    whole = _closed_long_ago()
    merged = _both_ways(None, _compacted(whole), whole)
    assert merged.compacted is None and merged.history == whole.history


def test_merge_driver_reads_and_writes_compacted_lines(tmp_path: Path) -> None:
    base = _closed_long_ago()
    other = _task(id="nx-zzzz", title="other")
    paths = [tmp_path / n for n in ("o", "a", "b")]
    paths[0].write_bytes(jsonl.render_tasks([base]))
    paths[1].write_bytes(jsonl.render_tasks([_compacted(base)]))
    paths[2].write_bytes(jsonl.render_tasks([base, other]))
    result = run_nexus("task", "merge-driver", *map(str, paths))
    assert result.exit_code == 0, result.stderr
    merged = jsonl.parse(paths[1].read_bytes(), source="a")
    assert [t.id for t in merged] == ["nx-aaaa", "nx-zzzz"] and merged[0].compacted is not None


@pytest.mark.slow
def test_two_clones_compact_and_edit_the_same_tasks(tasks_project: Path, tmp_path: Path) -> None:
    from tests.tasks.test_compaction import _old_closed

    origin = tasks_project
    quiet = _old_closed(origin, "Closed and forgotten")
    noted = _old_closed(origin, "Closed, noted later")
    _commit_all(origin, "tasks")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    ok("-C", str(clone), "init")
    for repo in (origin, clone):
        git(repo, "config", "pull.rebase", "false")
    compacted = ok("-C", str(origin), "task", "compact", "--json").json()["compacted"]
    assert {t["id"] for t in compacted} == {quiet, noted}
    _commit_all(origin, "compact")
    ok("-C", str(clone), "task", "note", noted, "a question about this one")
    _commit_all(clone, "note")
    git(clone, "pull", "-q", "--no-edit", "origin", "main")
    assert "<<<<<<<" not in (clone / ".nexus" / "tasks.jsonl").read_text()
    tasks = _titles(clone)
    assert "compacted" in tasks[quiet] and tasks[quiet]["notes"] == []
    assert "compacted" not in tasks[noted]  # edited on the other side: back whole
    assert [n["text"] for n in tasks[noted]["notes"]] == [  # type: ignore[index]
        "tried the lexer first",
        "fixed in the grammar\nsee the test",
        "a question about this one",
    ]
    git(origin, "pull", "-q", "--no-edit", str(clone), "main")
    assert _titles(origin) == tasks
    again = ok("-C", str(origin), "task", "compact", "--json").json()["compacted"]
    assert [t["id"] for t in again] == [noted] and again[0]["dropped_notes"] == 3
