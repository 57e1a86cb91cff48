"""The git merge driver for ``.nexus/tasks.jsonl``: a field-by-field three-way merge.

For each task ID: history and notes are unioned (deduplicated, ordered by time); labels and
dependencies merge as sets (an element removed on one side stays removed); any other field (the
parent link included) takes the side that changed it, and when both changed it, the side with the
later ``updated_at``. Parent links that make a loop only together lose the newest link.
A task added on one side is kept; a task deleted on one side and unchanged on the other goes.

A task compacted (``nexus task compact``, :mod:`nexus_cli.tasks.compaction`) on one side only:
when the other side left it as it was, the compacted line wins; when the other side changed it
(a note, a reopen, any edit), the task comes back whole — the dropped description, notes and
history from the base (or from that side, without a base), with both sides' changes merged as
above — and a later ``nexus task compact`` summarises it again if it is still closed long enough.
Compacted on both sides, what either dropped stays dropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nexus_cli import jsonio
from nexus_cli.errors import ConflictError
from nexus_cli.tasks import jsonl
from nexus_cli.tasks.model import FIELD_ORDER, OPTIONAL_FIELDS, Task, summary_of

UNIONED = ("history", "notes")
SETS = ("labels", "depends_on")


def _union(*lists: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for items in lists:
        for item in items:
            key = jsonio.dumps(item, sort_keys=True, ascii_only=True)
            # Equal entries may differ in key order: keep one chosen by content, not by side.
            if key not in seen or jsonio.dumps(item, ascii_only=True) < jsonio.dumps(
                seen[key], ascii_only=True
            ):
                seen[key] = item
    return sorted(
        seen.values(),
        key=lambda e: (str(e.get("at", "")), jsonio.dumps(e, sort_keys=True, ascii_only=True)),
    )


def _merge_set(base: list[str], ours: list[str], theirs: list[str]) -> list[str]:
    removed = (set(base) - set(ours)) | (set(base) - set(theirs))
    return sorted((set(ours) | set(theirs)) - removed)


def merge_task(base: Task | None, ours: Task, theirs: Task) -> Task:
    """Three-way merge of one task; symmetric in ``ours``/``theirs``."""
    b = base.to_dict() if base else None
    o, t = ours.to_dict(), theirs.to_dict()
    merged: dict[str, Any] = {}
    for key in FIELD_ORDER:
        old = b.get(key, []) if b else []
        if key in UNIONED:
            merged[key] = _union(old, o[key], t[key])
        elif key in SETS:
            merged[key] = _merge_set(old, o[key], t[key])
        elif key == "updated_at":
            merged[key] = max(o[key], t[key])
        else:
            merged[key] = _merge_scalar(key, b, o, t)
    merged["no_gates"] = _merge_scalar("no_gates", b, o, t)
    for key in OPTIONAL_FIELDS:  # absent and null are the same: no parent, not deferred
        was = None if b is None else _with(b, key)
        merged[key] = _merge_scalar(key, was, _with(o, key), _with(t, key))
    # The lease follows the status: the side whose status won brings its lease (a claim on one
    # side and a release on the other must not leave a lease on an open task).
    status_side = o if merged["status"] == o["status"] else t
    if o["status"] == t["status"]:
        merged["lease"] = _merge_scalar("lease", b, o, t) or None
    else:
        merged["lease"] = status_side.get("lease")
    return Task.from_dict(merged)


def _with(data: dict[str, Any], key: str) -> dict[str, Any]:
    return {**data, key: data.get(key)}


def _merge_scalar(
    key: str, base: dict[str, Any] | None, ours: dict[str, Any], theirs: dict[str, Any]
) -> Any:
    """The side that changed ``key``; if both did, the later update (ties: the larger value)."""
    mine, other = ours.get(key, False), theirs.get(key, False)
    if mine == other:
        return mine
    if base is not None and mine == base.get(key, False):
        return other
    if base is not None and other == base.get(key, False):
        return mine
    if ours["updated_at"] != theirs["updated_at"]:
        return other if theirs["updated_at"] > ours["updated_at"] else mine
    return max(mine, other, key=lambda v: jsonio.dumps(v, sort_keys=True, ascii_only=True))


def merge_tasks(base: list[Task], ours: list[Task], theirs: list[Task]) -> list[Task]:
    b = {t.id: t for t in base}
    o = {t.id: t for t in ours}
    t = {x.id: x for x in theirs}
    result: list[Task] = []
    for task_id in sorted(set(o) | set(t)):
        mine, other, old = o.get(task_id), t.get(task_id), b.get(task_id)
        if mine and other:
            if old is None and mine.created_at != other.created_at:
                raise ConflictError(
                    f"task id {task_id} was created independently on both sides "
                    f"({mine.title!r} and {other.title!r}); git marks the file as conflicted",
                    hint="recreate one of them with `nexus task create` after the merge",
                )
            result.append(_merge_compacted(old, mine, other))
        elif mine or other:
            present = mine or other
            assert present is not None
            deleted_unchanged = old is not None and old.to_line() == present.to_line()
            if not deleted_unchanged:
                result.append(present)
    _break_parent_loops(result)
    return result


def _merge_compacted(base: Task | None, ours: Task, theirs: Task) -> Task:
    """:func:`merge_task` with the compaction rule of the module's docstring (symmetric)."""
    if (ours.compacted is None) == (theirs.compacted is None):
        if ours.compacted is not None and base is not None and base.compacted is None:
            base = _dropped(base)  # compacted on both sides: history and notes stay dropped
        return merge_task(base, ours, theirs)
    short, full = (ours, theirs) if ours.compacted is not None else (theirs, ours)
    if base is not None and full.to_line() == base.to_line():
        return short
    whole = base if base is not None and base.compacted is None else full
    return merge_task(base, _restored(short, whole), full)


def _dropped(task: Task) -> Task:
    copy = Task.from_dict(task.to_dict())
    copy.notes, copy.history = [], []
    return copy


def _restored(short: Task, whole: Task) -> Task:
    """The compacted ``short`` with what compaction dropped taken back from ``whole``."""
    copy = Task.from_dict(short.to_dict())
    if short.description == summary_of(whole):  # not edited since it was compacted
        copy.description = whole.description
    copy.notes = _union(whole.notes, short.notes)
    copy.history = _union(whole.history, short.history)
    copy.compacted = None
    return copy


def _break_parent_loops(tasks: list[Task]) -> None:
    """Each side may have linked parents without a loop and still make one together (ours: A
    under B, theirs: B under A). In each loop, the link set by the latest update goes (ties: the
    larger id), so the result does not depend on which side is ours."""
    by_id = {t.id: t for t in tasks}
    for task in tasks:
        path: list[str] = []
        node: Task | None = task
        while node is not None and node.id not in path:
            path.append(node.id)
            node = by_id.get(node.parent) if node.parent else None
        if node is not None:  # came back to ``node``: the loop is path[path.index(node.id):]
            loop = [by_id[i] for i in path[path.index(node.id) :]]
            max(loop, key=lambda t: (t.updated_at, t.id)).parent = None


def merge_files(base: Path, ours: Path, theirs: Path) -> int:
    """Merge into ``ours`` (git's %A). Raises ConfigError (git then reports a conflict)."""
    parsed = [
        jsonl.parse(p.read_bytes() if p.exists() else b"", source=str(p))
        for p in (base, ours, theirs)
    ]
    jsonl.write_atomic(ours, jsonl.render_tasks(merge_tasks(*parsed)))
    return len(parsed[1])
