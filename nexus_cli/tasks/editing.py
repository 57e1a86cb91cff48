"""Changing a task's fields and gates (`task edit`, MCP `task_update`) and splitting it into
subtasks (`task split`): each one transaction, with a history entry per change.

Apart from :mod:`nexus_cli.tasks.lifecycle` (creating and moving tasks through their statuses),
whose checks of gates, dependencies and parents these share.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from nexus_cli.errors import ConflictError, UsageError
from nexus_cli.tasks import lifecycle
from nexus_cli.tasks.loading import load, resolve
from nexus_cli.tasks.model import PRIORITIES, Gate, Task, now_iso
from nexus_cli.tasks.store import TaskStore


@dataclass
class TaskEdit:
    """What to change in a task; None (or empty) leaves a field as it is."""

    title: str | None = None
    description: str | None = None
    priority: int | None = None
    add_labels: tuple[str, ...] = ()
    remove_labels: tuple[str, ...] = ()
    add_deps: tuple[str, ...] = ()
    remove_deps: tuple[str, ...] = ()
    gates: tuple[Gate, ...] | None = None  # replaces every gate
    commands: tuple[Gate, ...] | None = None  # replaces the command gates (waiting ones stay)
    waits: tuple[Gate, ...] | None = None  # replaces the waiting gates (commands stay)
    parent: str | None = None  # an id; "" removes the parent
    via: str = "cli"
    may_remove_gates: bool = True  # False for an agent: fewer gates than before is refused

    def is_empty(self) -> bool:
        return self == TaskEdit(via=self.via, may_remove_gates=self.may_remove_gates)


def edit(store: TaskStore, ref: str, actor: str, change: TaskEdit) -> tuple[Task, list[Gate]]:
    """Apply ``change`` to the task ``ref`` names, one history entry per field changed; the
    task and the gates that are new to it (they need an approval to run)."""
    if change.title is not None:
        lifecycle.check_title(change.title)
    if change.priority is not None and change.priority not in PRIORITIES:
        raise UsageError(f"priority must be 0-4, not {change.priority}")
    for gate in (*(change.gates or ()), *(change.commands or ()), *(change.waits or ())):
        lifecycle.check_gate(gate)
    with store.write():
        task = load(store, ref)
        change = _whole_gates(task, change)
        for field_name in ("title", "description", "priority"):
            new = getattr(change, field_name)
            if field_name == "title" and new is not None:
                new = new.strip()
            old = getattr(task, field_name)
            if new is not None and new != old:
                shown = {} if field_name == "description" else {"from": old, "to": new}
                lifecycle.record(task, actor, "edited", field=field_name, **shown)
                setattr(task, field_name, new)
        _edit_labels(task, actor, change)
        for dep in change.remove_deps:
            lifecycle.remove_dependency(store, task, actor, dep)
        for dep in change.add_deps:
            lifecycle.add_dependency(store, task, actor, dep)
        if change.parent is not None:
            _set_parent(store, task, actor, change.parent)
        if change.gates is not None:
            resolved = tuple(lifecycle.resolve_wait(store, task.id, g) for g in change.gates)
            change = replace(change, gates=resolved)
        added = _replace_gates(task, actor, change) if change.gates is not None else []
        store.put(task)
    return task, added


def _whole_gates(task: Task, change: TaskEdit) -> TaskEdit:
    """``change`` with its command and waiting gates merged into one list that replaces every
    gate (the part not given is the task's own)."""
    if change.commands is None and change.waits is None:
        return change
    base = list(change.gates) if change.gates is not None else task.gates
    waiting = change.waits if change.waits is not None else tuple(g for g in base if g.wait)
    commands = change.commands
    if commands is None:
        commands = tuple(g for g in base if g.wait is None)
    else:  # a waiting gate's text given back with the commands (as `show` lists it) is that gate
        shown = {g.command for g in waiting}
        commands = tuple(g for g in commands if g.command not in shown)
    return replace(change, gates=(*commands, *waiting), commands=None, waits=None)


def _edit_labels(task: Task, actor: str, change: TaskEdit) -> None:
    before = set(task.labels)
    after = (before | {x.strip() for x in change.add_labels}) - set(change.remove_labels)
    after.discard("")
    if after != before:
        added, removed = sorted(after - before), sorted(before - after)
        lifecycle.record(task, actor, "labels_changed", added=added, removed=removed)
        task.labels = sorted(after)


def _set_parent(store: TaskStore, task: Task, actor: str, ref: str) -> None:
    new = resolve(store, ref) if ref else None
    if new == task.parent:
        return
    if new is not None:
        lifecycle.check_parent(store, task, new)
    lifecycle.record(task, actor, "edited", field="parent", **{"from": task.parent, "to": new})
    task.parent = new


def _replace_gates(task: Task, actor: str, change: TaskEdit) -> list[Gate]:
    gates = list(dict.fromkeys(change.gates or ()))
    if gates == task.gates:
        return []
    if len(gates) < len(task.gates) and not change.may_remove_gates:
        raise UsageError(
            "an agent cannot remove a gate",
            hint="change a gate's command (the new one waits for a person's approval), or ask "
            f"a person to remove it with `nexus task edit {task.id}`",
        )
    if not change.may_remove_gates and any(g.wait and g not in gates for g in task.gates):
        raise UsageError(  # nothing would stand in for it: a waiting gate needs no approval
            "an agent cannot remove or change a waiting gate",
            hint=f"ask a person to change it with `nexus task edit {task.id}`",
        )
    if not gates and not task.no_gates:
        task.no_gates = True
    elif gates:
        task.no_gates = False
    lifecycle.record(
        task,
        actor,
        "gates_changed",
        via=change.via,
        **{"from": [g.command for g in task.gates], "to": [g.command for g in gates]},
    )
    added = [g for g in gates if g not in task.gates]
    task.gates = gates
    return added


def split(
    store: TaskStore, ref: str, actor: str, titles: list[str], via: str = "cli"
) -> tuple[Task, list[Task]]:
    """Turn the task ``ref`` names into an epic: one subtask per title (the parent's gates,
    priority, labels and workspace), all in one transaction."""
    clean = [t.strip() for t in titles if t.strip()]
    if not clean:
        raise UsageError("task split needs at least one subtask title")
    with store.write():
        parent = load(store, ref)
        if parent.finished:
            raise ConflictError(f"task {parent.id} is {parent.status}; it cannot be split")
        children = []
        for title in clean:
            child = Task(
                id=lifecycle.fresh_id(store, title),
                title=title,
                priority=parent.priority,
                workspace=parent.workspace,
                labels=list(parent.labels),
                gates=list(parent.gates),
                no_gates=parent.no_gates,
                parent=parent.id,
            )
            child.created_at = now_iso()
            gates: dict[str, Any] = {"no_gates": True} if parent.no_gates else {"via": via}
            lifecycle.record(
                child, actor, "created", to="open", parent=parent.id, split_from=parent.id, **gates
            )
            store.put(child)
            children.append(child)
        lifecycle.record(parent, actor, "split", into=[c.id for c in children])
        store.put(parent)
    return parent, children
