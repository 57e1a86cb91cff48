"""Properties of the tasks.jsonl merge driver (hypothesis): symmetric, idempotent, one-sided
changes never lost, history only grows, edits to different fields on both sides both kept."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from nexus_cli.tasks.compaction import compact_task
from nexus_cli.tasks.merge import merge_task, merge_tasks
from nexus_cli.tasks.model import Task

SCALARS = ("title", "description", "priority", "status", "assignee", "workspace")
_word = st.text("abcxyz ", min_size=1, max_size=6)
_values: dict[str, st.SearchStrategy[Any]] = {
    "title": _word,
    "description": st.text("abc", max_size=4),
    "priority": st.integers(0, 4),
    "status": st.sampled_from(["open", "in_progress", "review", "done"]),
    "assignee": st.one_of(st.none(), st.sampled_from(["alice", "bob"])),
    "workspace": st.one_of(st.none(), st.sampled_from(["feat", "fix"])),
}
_entry = st.fixed_dictionaries(
    {"at": st.sampled_from(["t1", "t2", "t3"]), "by": st.sampled_from(["a", "b"])}
)


def _canonical(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    unique = {json.dumps(e, sort_keys=True): e for e in entries}
    return sorted(unique.values(), key=lambda e: (e["at"], json.dumps(e, sort_keys=True)))


def _line(task: Task) -> str:
    return task.to_line()


@st.composite
def _base(draw: st.DrawFn) -> Task:
    data: dict[str, Any] = {key: draw(strategy) for key, strategy in _values.items()}
    data.update(
        id="nx-aaaa",
        created_at="t0",
        updated_at="t0",
        labels=draw(st.lists(st.sampled_from("abc"), unique=True)),
        depends_on=draw(st.lists(st.sampled_from(["nx-bbbb", "nx-cccc"]), unique=True)),
        history=_canonical([{"at": "t0", "by": "a", "action": "created"}]),
        no_gates=draw(st.booleans()),
    )
    return Task.from_dict(data)


@st.composite
def _edit(draw: st.DrawFn, base: Task, fields: tuple[str, ...] | None = None) -> Task:
    """``base`` as one side changed it: some scalar fields, labels, history appended."""
    data = base.to_dict()
    keys = fields if fields is not None else draw(st.lists(st.sampled_from(SCALARS), unique=True))
    for key in keys:
        data[key] = draw(_values[key].filter(lambda v, k=key: v != data[k]))
    data["labels"] = draw(st.lists(st.sampled_from("abcd"), unique=True))
    data["history"] = _canonical([*data["history"], *draw(st.lists(_entry, max_size=2))])
    data["updated_at"] = draw(st.sampled_from(["t1", "t2", "t3"]))
    if fields is None and draw(st.booleans()):
        data["no_gates"] = not base.no_gates
    return Task.from_dict(data)


@st.composite
def _three(draw: st.DrawFn) -> tuple[Task, Task, Task]:
    base = draw(_base())
    return base, draw(_edit(base)), draw(_edit(base))


@given(_three())
def test_merge_is_symmetric(sides: tuple[Task, Task, Task]) -> None:
    base, ours, theirs = sides
    assert _line(merge_task(base, ours, theirs)) == _line(merge_task(base, theirs, ours))
    forward = merge_tasks([base], [ours], [theirs])
    assert [_line(t) for t in forward] == [_line(t) for t in merge_tasks([base], [theirs], [ours])]


@given(_three())
def test_merge_is_idempotent(sides: tuple[Task, Task, Task]) -> None:
    base, ours, _ = sides
    assert _line(merge_task(base, base, base)) == _line(base)
    assert _line(merge_task(base, ours, ours)) == _line(ours)
    assert _line(merge_task(ours, ours, ours)) == _line(ours)
    assert _line(merge_task(None, ours, ours)) == _line(ours)


@given(_three())
def test_history_only_grows(sides: tuple[Task, Task, Task]) -> None:
    base, ours, theirs = sides
    merged = merge_task(base, ours, theirs)
    for side in sides:
        assert all(entry in merged.history for entry in side.history)
    assert len(merged.history) == len(_canonical([*ours.history, *theirs.history]))


@given(st.data())
def test_a_field_changed_on_one_side_is_never_dropped(data: st.DataObject) -> None:
    base = data.draw(_base())
    mine = data.draw(st.sampled_from(SCALARS))
    others = tuple(k for k in SCALARS if k != mine)
    ours = data.draw(_edit(base, (mine,)))
    theirs = data.draw(_edit(base, tuple(data.draw(st.lists(st.sampled_from(others))))))
    for merged in (merge_task(base, ours, theirs), merge_task(base, theirs, ours)):
        assert getattr(merged, mine) == getattr(ours, mine)
        for key in others:
            assert getattr(merged, key) == getattr(theirs, key)


@given(st.data())
def test_both_sides_edit_different_fields_through_merge_tasks(data: st.DataObject) -> None:
    base = data.draw(_base())
    ours = data.draw(_edit(base, ("title",)))
    theirs = data.draw(_edit(base, ("priority", "status")))
    other = Task(id="nx-zzzz", title="untouched", created_at="t0", updated_at="t0")
    result = merge_tasks([base, other], [ours, other], [theirs, other])
    assert [t.id for t in result] == ["nx-aaaa", "nx-zzzz"]
    merged = result[0]
    assert merged.title == ours.title
    assert (merged.priority, merged.status) == (theirs.priority, theirs.status)
    assert merged.updated_at == max(ours.updated_at, theirs.updated_at)
    assert _line(result[1]) == _line(other)


def test_both_changed_one_field_the_later_update_wins_either_way() -> None:
    base = Task(id="nx-aaaa", title="T", created_at="t0", updated_at="t0")
    early = Task(id="nx-aaaa", title="early", created_at="t0", updated_at="t1")
    late = Task(id="nx-aaaa", title="late", created_at="t0", updated_at="t2")
    assert merge_task(base, early, late).title == "late"
    assert merge_task(base, late, early).title == "late"


def test_no_gates_flag_survives_a_merge() -> None:
    base = Task(id="nx-aaaa", title="T", created_at="t0", updated_at="t0")
    waived = Task(id="nx-aaaa", title="T", created_at="t0", updated_at="t1", no_gates=True)
    renamed = Task(id="nx-aaaa", title="U", created_at="t0", updated_at="t2")
    merged = merge_task(base, waived, renamed)
    assert merged.no_gates is True and merged.title == "U"


def _moment(days_ago: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@st.composite
def _closed_and_compacted(draw: st.DrawFn) -> tuple[Task, Task, Task]:
    """A task closed 200 days ago, that task compacted, and the task as another side left it
    (unchanged, or with some of: a note, a label, a new title, a reopen)."""
    history = [
        {"at": _moment(300), "by": "a", "action": "created", "to": "open"},
        {"at": _moment(250), "by": "a", "action": "transition", "from": "open", "to": "cancelled"},
    ]
    notes = [{"at": _moment(260), "by": "a", "text": t} for t in draw(st.lists(_word, max_size=3))]
    base = Task.from_dict(
        {
            "id": "nx-aaaa",
            "title": draw(_word),
            "description": draw(st.text("ab\n", max_size=6)),
            "status": "cancelled",
            "notes": notes,
            "history": history,
            "created_at": _moment(300),
            "updated_at": _moment(250),
        }
    )
    short = compact_task(base, _moment(0))
    other = Task.from_dict(base.to_dict())
    for change in draw(st.lists(st.sampled_from(["note", "label", "title", "reopen"]))):
        other.updated_at = _moment(1)
        if change == "note":
            other.notes = [*other.notes, {"at": _moment(1), "by": "b", "text": "later"}]
        elif change == "label":
            other.labels = ["new"]
        elif change == "title":
            other.title = "renamed"
        else:
            other.status = "open"
            entry = {"at": _moment(1), "by": "b", "action": "transition", "to": "open"}
            other.history = [*other.history, entry]
    return base, short or base, other


@given(_closed_and_compacted())
def test_a_compacted_side_merges_symmetrically_and_loses_nothing_edited(
    sides: tuple[Task, Task, Task],
) -> None:
    base, short, other = sides
    merged = merge_tasks([base], [short], [other])
    assert [_line(t) for t in merged] == [_line(t) for t in merge_tasks([base], [other], [short])]
    [task] = merged
    if _line(other) == _line(base):  # nobody else touched it: compaction wins
        assert _line(task) == _line(short)
    else:  # edited elsewhere: the whole task, with the edit
        assert task.compacted is None
        assert task.description == base.description
        assert all(entry in task.history for entry in other.history)
        assert all(note in task.notes for note in other.notes)
        assert (task.title, task.status, task.labels) == (other.title, other.status, other.labels)
