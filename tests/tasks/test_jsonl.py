"""tasks.jsonl: the shared record — sorted, stable, atomic; a bad line skipped, reported and
kept; the whole file refused only when it is broken as a file (conflict markers)."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from nexus_cli.tasks import jsonl
from nexus_cli.tasks.model import FIELD_ORDER, Gate, Task
from tests.conftest import run_nexus
from tests.tasks.conftest import new_task, ok


def _file(root: Path) -> Path:
    return root / ".nexus" / "tasks.jsonl"


def test_file_is_sorted_with_stable_field_order(tasks_project: Path) -> None:
    ids = [new_task(f"T{i}", "--gate", "true") for i in range(5)]
    lines = _file(tasks_project).read_text().splitlines()
    assert [json.loads(x)["id"] for x in lines] == sorted(ids)
    assert all(list(json.loads(x)) == list(FIELD_ORDER) for x in lines)


def test_a_change_rewrites_only_that_line(tasks_project: Path) -> None:
    ids = [new_task(f"T{i}") for i in range(3)]
    before = _file(tasks_project).read_text().splitlines()
    ok("task", "note", ids[1], "hello")
    after = _file(tasks_project).read_text().splitlines()
    changed = [i for i, (x, y) in enumerate(zip(before, after, strict=True)) if x != y]
    assert len(changed) == 1


def test_a_pulled_change_is_imported(tasks_project: Path) -> None:
    task_id = new_task("Original")
    path = _file(tasks_project)
    data = json.loads(path.read_text())
    data["title"] = "Edited by a teammate"
    other = dict(data, id="nx-zzzz", title="Brand new", history=[])
    path.write_text(json.dumps(data) + "\n" + json.dumps(other) + "\n")
    listed = {t["id"]: t["title"] for t in ok("task", "list", "--json").json()}
    assert listed == {task_id: "Edited by a teammate", "nx-zzzz": "Brand new"}


def test_conflict_markers_are_refused_naming_the_line(tasks_project: Path) -> None:
    task_id = new_task("Keep me")
    path = _file(tasks_project)
    good = path.read_text()
    path.write_text(f"<<<<<<< HEAD\n{good}=======\n{good.replace('Keep me', 'Other')}>>>>>>> b\n")
    result = run_nexus("task", "list")
    assert result.exit_code == 1
    assert f"{path}:1: unresolved git conflict marker" in result.stderr
    assert "Traceback" not in result.stderr
    path.write_text(good)
    assert [t["title"] for t in ok("task", "list", "--json").json()] == ["Keep me"]
    assert task_id


def test_a_malformed_line_is_skipped_reported_and_kept(tasks_project: Path) -> None:
    new_task("First")
    path = _file(tasks_project)
    text = path.read_text()
    other = json.loads(text)
    other.update(id="nx-aaaa", title="A teammate's task")
    broken = '{"id": "nx-bad", "title": '
    path.write_text(json.dumps(other) + "\n" + text + broken + "\n")
    result = run_nexus("task", "list", "--json")
    assert result.exit_code == 0, result.stderr
    assert f"{path}:3: malformed task line" in result.stderr and "kept in the file" in result.stderr
    assert sorted(t["title"] for t in result.json()) == ["A teammate's task", "First"]
    # The next change rewrites the file from the database: the skipped line is still there.
    ok("task", "note", other["id"], "seen")
    assert path.read_text().splitlines()[-1] == broken
    # Fixed by hand, it is imported.
    path.write_text(path.read_text().replace(broken, json.dumps(dict(other, id="nx-fixd"))))
    result = run_nexus("task", "list", "--json")
    assert "warning" not in result.stderr
    assert len(result.json()) == 3


def test_bad_status_is_named(tasks_project: Path) -> None:
    new_task("First")
    path = _file(tasks_project)
    path.write_text(path.read_text().replace('"status":"open"', '"status":"blocked"'))
    result = run_nexus("task", "list", "--json")
    assert result.exit_code == 0 and ":1: malformed task line" in result.stderr
    assert "blocked" in result.stderr and "ValueError" not in result.stderr
    assert result.json() == []


def test_deleted_database_is_rebuilt_and_deleted_file_rewritten(tasks_project: Path) -> None:
    task_id = new_task("Durable")
    (tasks_project / ".nexus" / "tasks.db").unlink()
    assert [t["id"] for t in ok("task", "list", "--json").json()] == [task_id]
    _file(tasks_project).unlink()
    ok("task", "note", task_id, "x")
    assert task_id in _file(tasks_project).read_text()


def test_corrupt_database_is_a_clear_error(tasks_project: Path) -> None:
    new_task("Durable")
    db = tasks_project / ".nexus" / "tasks.db"
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    db.write_bytes(b"not a database at all" * 100)
    result = run_nexus("task", "list")
    assert result.exit_code == 1
    assert "is unreadable" in result.stderr and "Traceback" not in result.stderr


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
_entry = st.fixed_dictionaries({"at": _text, "by": _text, "action": _text})
_task = st.builds(
    Task,
    id=st.from_regex(r"nx-[0-9a-z]{4,8}", fullmatch=True),
    title=_text.filter(lambda s: s.strip() != ""),
    description=_text,
    priority=st.integers(0, 4),
    status=st.sampled_from(["open", "in_progress", "review", "done", "rejected", "cancelled"]),
    assignee=st.one_of(st.none(), _text.filter(bool)),
    workspace=st.one_of(st.none(), st.from_regex(r"[a-z]{1,8}", fullmatch=True)),
    labels=st.lists(_text, max_size=3),
    depends_on=st.lists(st.from_regex(r"nx-[0-9a-z]{4}", fullmatch=True), max_size=3),
    gates=st.lists(st.builds(Gate, command=_text.filter(str.strip), timeout_s=st.integers(1, 999))),
    notes=st.lists(st.fixed_dictionaries({"at": _text, "by": _text, "text": _text}), max_size=3),
    history=st.lists(_entry, max_size=3),
    created_at=_text,
    updated_at=_text,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_task, max_size=6, unique_by=lambda t: t.id))
def test_round_trip_changes_nothing(tasks: list[Task]) -> None:
    data = jsonl.render_tasks(tasks)
    parsed = jsonl.parse(data, source="tasks.jsonl")
    assert jsonl.render_tasks(parsed) == data
    assert [t.to_dict() for t in parsed] == [t.to_dict() for t in sorted(tasks, key=lambda t: t.id)]
