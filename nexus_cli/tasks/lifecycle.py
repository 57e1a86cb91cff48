"""Task operations: create, move through statuses, notes and dependencies (edit, split: editing).

Every change happens inside :meth:`TaskStore.write`, appends a history entry (who, when, why),
and tells telemetry what happened (IDs are hashed by the recorder; reasons are hashed here).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nexus_cli import owner, ownership, validate
from nexus_cli.caller import Caller
from nexus_cli.errors import ConflictError, NotFoundError, UsageError
from nexus_cli.tasks import ids, lease, wait_spec, waits
from nexus_cli.tasks.loading import load, resolve
from nexus_cli.tasks.model import PRIORITIES, TRANSITIONS, Gate, Task, now_iso
from nexus_cli.tasks.store import TaskStore
from nexus_cli.telemetry.journal import invocation
from nexus_cli.telemetry.journal.privacy import hash_name


def record(task: Task, actor: str, action: str, **details: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"at": now_iso(), "by": actor, "action": action, **details}
    task.history.append(entry)
    task.updated_at = entry["at"]
    return entry


def transition(task: Task, to: str, actor: str, reason: str | None = None, **extra: Any) -> None:
    """Move ``task`` to ``to`` (or refuse with the allowed moves), recorded in its history."""
    if to not in TRANSITIONS[task.status]:
        allowed = ", ".join(sorted(TRANSITIONS[task.status]))
        raise ConflictError(
            f"task {task.id} is {task.status}; it cannot become {to}",
            hint=f"from {task.status} it can become: {allowed}",
        )
    details: dict[str, Any] = {"from": task.status, "to": to}
    if reason:
        details["reason"] = reason
    record(task, actor, "transition", **details, **extra)
    invocation.signal("task_transition", from_status=task.status, to_status=to)
    task.status = to
    if to not in ("in_progress", "verifying"):
        task.lease = None  # a lease lives only as long as the claim
    if to == "done":
        invocation.note(tasks_completed=1)


@dataclass
class NewTask:
    title: str
    description: str = ""
    priority: int = 2
    depends_on: tuple[str, ...] = ()
    gates: tuple[Gate, ...] = ()
    workspace: str | None = None
    labels: tuple[str, ...] = ()
    no_gates: bool = False
    via: str = "cli"  # how its gates arrived (nexus_cli.tasks.provenance)
    parent: str | None = None  # the epic it is a subtask of (an id or a unique prefix)


def check_title(title: str) -> None:
    if not title.strip():
        raise UsageError("a task needs a non-empty title")


def _check_spec(spec: NewTask) -> None:
    check_title(spec.title)
    if spec.workspace is not None:
        validate.workspace_name(spec.workspace)
    for gate in spec.gates:
        check_gate(gate)
    if spec.no_gates and spec.gates:
        raise UsageError("--no-gates excludes --gate and --wait")
    if not spec.gates and not spec.no_gates:
        raise UsageError(
            "a task needs a verification gate and none was detected in this project",
            hint="pass --gate CMD (repeatable), or --no-gates to create it without one "
            "(recorded in its history)",
        )


def check_gate(gate: Gate) -> None:
    if not gate.command.strip():
        raise UsageError(f"gate command {gate.command!r} is blank", hint="give a command to run")
    if gate.service is not None:
        validate.service_name(gate.service)
    if gate.wait is not None:
        local = wait_spec.needs_resolving(gate.wait, gate.command)
        why = None if local is not None else wait_spec.problem(gate.wait, gate.command)
        if why is not None:
            raise UsageError(f"waiting gate {gate.command!r:.80}: {why}", hint=wait_spec.FORMS)


def resolve_wait(store: TaskStore, task_id: str, gate: Gate) -> Gate:
    """``gate`` with a local ``task:`` reference resolved to the full id it names."""
    if gate.wait == "task":  # a path to this same repository names this task too
        path, named = wait_spec.split_task(gate.command[len("task: ") :])
        here = os.path.realpath(store.project.root)
        there = None if path is None else wait_spec.repository(path, store.project.root)
        if named == task_id and there is not None and os.path.realpath(there) == here:
            raise UsageError(f"task {task_id} cannot wait on itself (through {path!r})")
    ref = None if gate.wait is None else wait_spec.needs_resolving(gate.wait, gate.command)
    if ref is None:
        return gate
    full = resolve(store, ref)
    if full == task_id:
        raise UsageError(f"task {task_id} cannot wait on itself")
    _refuse_cycle(store, task_id, full, "waiting gate")
    return Gate(f"task: {full}", gate.timeout_s, None, "task")


def create(store: TaskStore, spec: NewTask, actor: str) -> Task:
    _check_spec(spec)
    if spec.priority not in PRIORITIES:
        raise UsageError(f"priority must be 0-4, not {spec.priority}")
    with store.write():
        deps = [resolve(store, d) for d in spec.depends_on]
        parent = None if spec.parent is None else resolve(store, spec.parent)
        task = Task(
            id=fresh_id(store, spec.title),
            title=spec.title.strip(),
            description=spec.description,
            priority=spec.priority,
            workspace=spec.workspace,
            labels=sorted(set(spec.labels)),
            depends_on=sorted(set(deps)),
            no_gates=spec.no_gates,
        )
        task.gates = list(dict.fromkeys(resolve_wait(store, task.id, g) for g in spec.gates))
        if parent is not None:
            check_parent(store, task, parent)
            task.parent = parent
        task.created_at = now_iso()
        extra: dict[str, Any] = {} if parent is None else {"parent": parent}
        if spec.no_gates:
            record(task, actor, "created", to="open", no_gates=True, **extra)
        else:
            record(task, actor, "created", to="open", via=spec.via, **extra)
        store.put(task)
    invocation.note(event_type="task", task=task.id)
    return task


def fresh_id(store: TaskStore, title: str) -> str:
    length = ids.id_length(store.count())
    while True:
        for _ in range(3):
            candidate = ids.candidate(title, length)
            if store.get(candidate) is None and not store.ids_with_prefix(candidate, 1):
                return candidate
        length += 1


def change(store: TaskStore, ref: str, actor: str, action: str, /, **kwargs: Any) -> Task:
    """Apply one named change (see :data:`CHANGES`) to the task ``ref`` names."""
    with store.write():
        task = load(store, ref)
        CHANGES[action](store, task, actor, **kwargs)
        store.put(task)
    return task


def log(store: TaskStore, ref: str, actor: str, action: str, /, **details: Any) -> Task:
    """Append one ``action`` entry to the history of the task ``ref`` names (no status change)."""
    with store.write():
        task = load(store, ref)
        record(task, actor, action, **details)
        store.put(task)
    return task


def require_own(task: Task, actor: str, doing: str) -> None:
    """Refuse ``doing`` (``start``, ``complete``) on a task assigned to someone else: with many
    agents at once, one must not start or complete the task another claimed. A task's own
    assignee, and a task nobody holds, pass. The hint says how it changes hands: a lease that
    ran out is reclaimed, otherwise a person assigns it."""
    if not task.assignee or task.assignee == actor:
        return
    if task.status == "in_progress" and task.lease is not None and lease.expired(task):
        hint = f"its lease has expired: `nexus task reclaim {task.id}` frees it to be claimed"
    else:
        hint = f"a person can hand it over first: `nexus task assign {task.id} {actor}`"
    raise ConflictError(
        f"task {task.id} is assigned to {task.assignee}, not {actor}: only they can {doing} it",
        hint=hint,
    )


def _start(store: TaskStore, task: Task, actor: str) -> None:
    require_own(task, actor, "start")
    task.assignee = actor
    transition(task, "in_progress", actor)


def _claim(
    store: TaskStore,
    task: Task,
    actor: str,
    holder: owner.Owner | None = None,
    lease_s: int = lease.DEFAULT_LEASE_S,
) -> None:
    waiting = _unfinished_dependencies(store, task)
    if waiting:
        raise ConflictError(
            f"task {task.id} cannot be claimed: it depends on {', '.join(waiting)}, not done yet",
            hint="see `nexus task ready` for the tasks that can be claimed now",
        )
    if not store.claim(task.id, actor):
        if task.assignee == actor:
            held = f"{task.status}, and already yours ({actor})"
        else:
            held = f"claimed by {task.assignee}" if task.assignee else task.status
        raise ConflictError(f"task {task.id} cannot be claimed: it is {held}")
    if task.assignee != actor:
        record(task, actor, "assigned", assignee=actor, previous=task.assignee)
    task.assignee = actor
    transition(task, "in_progress", actor)
    task.lease = lease.new(holder or ownership.new(), _lease_length(lease_s))


def _lease_length(lease_s: int) -> int:
    if isinstance(lease_s, bool) or not isinstance(lease_s, int):
        raise UsageError(f"a lease length must be whole seconds, not {lease_s!r:.30}")
    if not 0 < lease_s <= lease.MAX_LEASE_S:
        raise UsageError(f"a lease must last 1-{lease.MAX_LEASE_S:,} seconds, not {lease_s}")
    return lease_s


def _unfinished_dependencies(store: TaskStore, task: Task) -> list[str]:
    waiting = []
    for dep in task.depends_on:
        found = store.get(dep)
        if found is not None and not found.finished:
            waiting.append(dep)
    return sorted(waiting)


def _heartbeat(
    store: TaskStore,
    task: Task,
    actor: str,
    holder: owner.Owner,
    lease_s: int = lease.DEFAULT_LEASE_S,
) -> None:
    """Extend the lease that ``holder`` holds; take a new one on ``actor``'s own claimed task
    (a resumed loop); refuse when the task is no longer ``actor``'s (it was reclaimed)."""
    if task.status not in ("in_progress", "verifying") or task.assignee != actor:
        held = f"claimed by {task.assignee}" if task.assignee else "not claimed"
        raise ConflictError(f"task {task.id} is {task.status}, {held}: its lease was lost")
    if task.lease is not None and lease.token(task) == holder.token:
        task.lease = lease.beat(task.lease)
        return
    previous = lease.token(task)
    task.lease = lease.new(holder, _lease_length(lease_s))
    record(task, actor, "lease_renewed", previous_token=previous)


def _reclaim(store: TaskStore, task: Task, actor: str) -> None:
    """Take back a task whose lease expired: it becomes open and unassigned again."""
    if task.status != "in_progress" or task.lease is None:
        raise ConflictError(
            f"task {task.id} is {task.status} without a lease: there is nothing to reclaim",
            hint=f"a person can hand it over with `nexus task assign {task.id} AGENT`",
        )
    if not lease.expired(task):
        raise ConflictError(
            f"task {task.id}'s lease, held by {task.assignee}, runs until {task.lease['expires']}",
            hint="a lease can be reclaimed once it has expired",
        )
    record(
        task,
        actor,
        "reclaimed",
        previous=task.assignee,
        previous_token=lease.token(task),
        expired_at=task.lease.get("expires"),
    )
    task.assignee = None
    transition(task, "open", actor, "lease expired")


def _assign(store: TaskStore, task: Task, actor: str, assignee: str) -> None:
    record(task, actor, "assigned", assignee=assignee or None, previous=task.assignee)
    task.assignee = assignee or None


def _with_reason(to: str) -> Any:
    def apply(store: TaskStore, task: Task, actor: str, reason: str) -> None:
        if not reason.strip():
            raise UsageError(f"a reason is required to move a task to {to}")
        transition(task, to, actor, reason)
        if to == "rejected":
            invocation.signal("task_rejected", reason_hash=hash_name(reason, kind="reason"))

    return apply


def _approve(
    store: TaskStore, task: Task, actor: str, caller: Caller, env: Mapping[str, str]
) -> None:
    """Only a task whose gates passed (it is in review) can be approved into done, and only by
    a person: review is where someone looks at what the agent did, so neither an agent over MCP
    nor the agent of ``nexus loop`` may let it through (:func:`waits.refuse_agents`)."""
    waits.refuse_agents(
        caller, env, "a task in review waits for a person", f"`nexus task approve {task.id}`"
    )
    if task.status != "review":
        raise ConflictError(
            f"task {task.id} is {task.status}; only a task in review can be approved",
            hint=f"`nexus task complete {task.id}` runs its gates first",
        )
    require_children_finished(store, task)
    transition(task, "done", actor)


def _approve_as(
    store: TaskStore, task: Task, actor: str, name: str, caller: Caller, env: Mapping[str, str]
) -> None:
    """Record ``name``'s approval for ``task``'s ``approval: NAME`` gate (who typed it, as whom,
    when), after :func:`nexus_cli.tasks.waits.check_approver` refused agents and names the
    task does not ask for."""
    waits.check_approver(task, name, caller, env)
    record(task, actor, waits.APPROVAL, **{"as": name})


def check_parent(store: TaskStore, task: Task, parent_id: str) -> None:
    """Refuse ``parent_id`` as ``task``'s parent: itself, a loop, or a finished task."""
    if parent_id == task.id:
        raise UsageError(f"task {task.id} cannot be its own parent")
    up = store.ancestors(parent_id)
    if task.id in up:
        loop = " -> ".join([task.id, parent_id, *up[: up.index(task.id) + 1]])
        raise UsageError(f"parent refused: it would create the loop {loop}")
    parent = store.get(parent_id)
    if parent is not None and parent.finished:
        raise ConflictError(
            f"task {parent_id} is {parent.status}; it cannot take new subtasks",
            hint=f"reopen it first: `nexus task reopen {parent_id}`",
        )


def require_children_finished(store: TaskStore, task: Task) -> None:
    """A parent is done only when every subtask is done or cancelled."""
    waiting = store.children(task.id, unfinished=True)
    if waiting:
        shown = ", ".join(f"{i} ({status})" for i, _, status in waiting[:20])
        more = f" and {len(waiting) - 20} more" if len(waiting) > 20 else ""
        raise ConflictError(
            f"task {task.id} has unfinished subtasks: {shown}{more}",
            hint=f"finish or cancel them first (`nexus task list --parent {task.id}`)",
        )


def _defer(store: TaskStore, task: Task, actor: str, until: str | None) -> None:
    """Keep ``task`` out of ``ready`` until ``until`` (a UTC moment, :func:`parse_moment`);
    None: no longer deferred."""
    if task.finished:
        raise ConflictError(f"task {task.id} is {task.status}; only unfinished tasks are deferred")
    record(task, actor, "deferred", until=until, previous=task.deferred_until)
    task.deferred_until = until


def _simple(to: str) -> Any:
    def apply(store: TaskStore, task: Task, actor: str) -> None:
        transition(task, to, actor)

    return apply


def _note(store: TaskStore, task: Task, actor: str, text: str) -> None:
    if not text.strip():
        raise UsageError("a note needs some text")
    at = now_iso()
    task.notes.append({"at": at, "by": actor, "text": text})
    task.updated_at = at


def add_dependency(store: TaskStore, task: Task, actor: str, dep: str) -> None:
    dep_id = resolve(store, dep)
    if dep_id == task.id:
        raise UsageError(f"task {task.id} cannot depend on itself")
    _refuse_cycle(store, task.id, dep_id, "dependency")
    if dep_id not in task.depends_on:
        task.depends_on = sorted({*task.depends_on, dep_id})
        record(task, actor, "dependency_added", dependency=dep_id)


def _refuse_cycle(store: TaskStore, task_id: str, other: str, what: str) -> None:
    """Refuse making ``task_id`` wait on ``other`` when ``other`` already waits on it."""
    path = waits.wait_path(store.get, other, task_id)
    if path is not None:
        cycle = " -> ".join([task_id, *path])
        raise UsageError(f"{what} refused: it would create the cycle {cycle}")


def remove_dependency(store: TaskStore, task: Task, actor: str, dep: str) -> None:
    dep_id = ids.normalise_prefix(dep)
    matches = [d for d in task.depends_on if d.startswith(dep_id)]
    if len(matches) != 1:
        raise NotFoundError(f"task {task.id} has no single dependency matching {dep!r}")
    task.depends_on = [d for d in task.depends_on if d != matches[0]]
    record(task, actor, "dependency_removed", dependency=matches[0])


def _add_gate(store: TaskStore, task: Task, actor: str, gate: Gate, via: str = "cli") -> None:
    check_gate(gate)
    gate = resolve_wait(store, task.id, gate)
    if gate.wait is not None and gate in task.gates:
        raise UsageError(f"task {task.id} already has the gate {gate.command!r:.80}")
    task.gates = [*task.gates, gate]
    task.no_gates = False
    record(task, actor, "gate_added", command=gate.command, via=via)


CHANGES: dict[str, Any] = {
    "gate_add": _add_gate,
    "start": _start,
    "claim": _claim,
    "heartbeat": _heartbeat,
    "reclaim": _reclaim,
    "assign": _assign,
    "approve": _approve,
    "approve_as": _approve_as,
    "reopen": _simple("open"),
    "reject": _with_reason("rejected"),
    "cancel": _with_reason("cancelled"),
    "note": _note,
    "dep_add": add_dependency,
    "dep_remove": remove_dependency,
    "defer": _defer,
}
