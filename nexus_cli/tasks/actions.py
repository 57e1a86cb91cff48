"""The task changes that every front end offers: create, the named changes, verify, complete
(and the history entry of a `nexus loop` iteration).

Each is the one implementation behind both ``nexus task <action> --json`` and the MCP tool of
the same name (ADR 0007). Front ends parse, call one of these with their :class:`Caller`, and
render the result; every rule (gates required, who may skip them, which ids are valid) is here
or below, in :mod:`nexus_cli.tasks.lifecycle` and :mod:`nexus_cli.tasks.verification`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from nexus_cli import validate
from nexus_cli.caller import Caller
from nexus_cli.errors import UsageError
from nexus_cli.project import Project
from nexus_cli.tasks import approvals, editing, lifecycle, provenance, wait_spec
from nexus_cli.tasks.config import load_settings
from nexus_cli.tasks.gates import detect_default_gates
from nexus_cli.tasks.identity import current_agent
from nexus_cli.tasks.listing import opened
from nexus_cli.tasks.loading import load
from nexus_cli.tasks.model import DEFAULT_GATE_TIMEOUT_S, Gate
from nexus_cli.tasks.moments import parse_moment
from nexus_cli.tasks.results import SplitResult, TaskResult
from nexus_cli.tasks.stage_persona import plan_for
from nexus_cli.tasks.verification import Verification
from nexus_cli.tasks.verification import complete as complete_gates
from nexus_cli.tasks.verification import verify as verify_gates

# How each caller names a gate in a hint: a command-line flag or an MCP argument.
_GATE_HINT = {Caller.PERSON: "pass --gate CMD (repeatable)", Caller.AGENT: "pass gates"}


def create(
    project: Project,
    title: str,
    *,
    gates: Sequence[str] = (),
    no_gates: bool = False,
    gate_timeout_s: int = DEFAULT_GATE_TIMEOUT_S,
    service: str | None = None,
    workspace: str | None = None,
    description: str = "",
    priority: int = 2,
    depends_on: Sequence[str] = (),
    labels: Sequence[str] = (),
    parent: str | None = None,
    waits: Sequence[str] = (),
    agent: str | None = None,
    caller: Caller = Caller.PERSON,
) -> TaskResult:
    """Create a task (a subtask of ``parent``, if given). Its gates: those given, else the test commands detected in the project;
    with none, only an explicit ``no_gates`` (recorded in its history) creates it."""
    lifecycle.check_title(title)  # before the gates: an empty title is the first thing to fix
    # The one deliberate difference: only a person may create a task that no gate verifies.
    if no_gates and caller is Caller.AGENT:
        raise UsageError(
            "an agent cannot create a task without gates",
            hint="pass gates (shell commands that must exit 0); a person can create one "
            "with `nexus task create --no-gates`",
        )
    if workspace is not None:
        validate.workspace_name(workspace)
    if service is not None and workspace is None:
        raise UsageError("--in SERVICE needs --workspace (the workspace whose container it is)")
    deps = tuple(validate.task_ref(d) for d in depends_on)
    if parent is not None:
        validate.task_ref(parent)
    commands, detected = list(gates), False
    if not commands and not no_gates:
        commands = detect_default_gates(project.root)
        detected = bool(commands)
    if not commands and load_settings(project).require_gate:
        raise UsageError("this project requires a verification gate", hint=_GATE_HINT[caller])
    if not commands and not no_gates and not waits:
        raise UsageError(
            "a task needs a verification gate and none was detected in this project",
            hint=_GATE_HINT[caller]
            + (", or --no-gates to create it without one" if caller is Caller.PERSON else ""),
        )
    via = provenance.via_for(caller, detected=detected)
    spec = lifecycle.NewTask(
        title=title,
        description=description,
        priority=priority,
        depends_on=deps,
        gates=(
            *(Gate(c, gate_timeout_s, service) for c in commands),
            *waiting_gates(waits),
        ),
        workspace=workspace,
        labels=tuple(labels),
        no_gates=no_gates,
        via=via,
        parent=parent,
    )
    if caller is Caller.PERSON:  # an approvals store that cannot be read fails with no task made
        approvals.check_readable(project)
    with opened(project) as store:
        created = lifecycle.create(store, spec, current_agent(agent))
    # Whoever runs the CLI could run these commands anyway: creating the task approves them.
    # An agent's gates (MCP) wait for a person: an MCP-only agent must not get a shell this way.
    if caller is Caller.PERSON:
        approvals.approve(project, created.id, approvals.gates_of(created), how=via_approval(via))
    return TaskResult(created, gates_detected=detected)


def waiting_gates(specs: Sequence[str]) -> tuple[Gate, ...]:
    """Waiting gates from ``KIND:VALUE`` texts (:func:`nexus_cli.tasks.wait_spec.parse`); an
    error names the text, the same from the command line and over MCP."""
    found = []
    for spec in specs:
        shown = repr(spec) if len(repr(spec)) <= 60 else repr(spec)[:57] + "..."
        kind, command = wait_spec.parse(spec, what=f"waiting gate {shown}")
        found.append(Gate(command, wait=kind))
    return tuple(found)


def via_approval(via: str) -> str:
    """How an approval given by creating a task is recorded: ``created`` or ``detected``."""
    return "detected" if via == provenance.VIA_DETECTED else "created"


def change(
    project: Project,
    ref: str,
    action: str,
    *,
    agent: str | None = None,
    caller: Caller = Caller.PERSON,
    at_terminal: bool = False,
    **details: Any,
) -> TaskResult:
    """Apply one named change (``claim``, ``heartbeat``, ``reclaim``, ``start``, ``note``,
    ``assign``, ``approve``, ``reject``, ``reopen``, ``cancel``, ``dep_add``, ``dep_remove``,
    ``gate_add``). A claim's lease lasts ``lease_s`` (default: ``tasks.lease_seconds``).

    Starting a workflow stage in a workspace switches that workspace to the stage's persona.
    A gate added by a person on the command line at a terminal (``at_terminal``, which only the
    CLI passes) is approved by that act; any other added gate waits for a person's approval.
    """
    if action not in lifecycle.CHANGES:
        raise UsageError(f"unknown task change {action!r}")
    if "dep" in details:
        details["dep"] = validate.task_ref(details["dep"])
    if action == "gate_add":
        details["via"] = provenance.via_for(caller)
    if action in ("approve", "approve_as"):  # who asks decides whether it may (waits.py)
        details.update(caller=caller, env=details.get("env", dict(os.environ)))
    if action in ("claim", "heartbeat") and details.get("lease_s") is None:
        details["lease_s"] = load_settings(project).lease_seconds
    with opened(project) as store:
        # a stage's persona is found and checked before the task moves: one that is missing or
        # in the way refuses the start with nothing changed
        switch = plan_for(project, load(store, ref)) if action == "start" else None
        task = lifecycle.change(
            store, validate.task_ref(ref), current_agent(agent), action, **details
        )
        persona = None if switch is None else switch.apply()
    if action == "gate_add" and caller is Caller.PERSON and at_terminal:
        added = approvals.to_approve(task, [details["gate"]])
        approvals.approve(project, task.id, added, how="gate-add")
    return TaskResult(task, persona=persona)


def approve_as(
    project: Project,
    ref: str,
    name: str,
    *,
    agent: str | None = None,
    caller: Caller = Caller.PERSON,
    env: Mapping[str, str] | None = None,
) -> TaskResult:
    """Record that ``name`` approved the task (``nexus task approve ID --as NAME``): satisfies
    its ``approval: NAME`` gate. Refused for an agent (``caller``, or the agent of ``nexus loop``
    by its ``env``) and for a name no approval gate of the task asks for
    (:func:`nexus_cli.tasks.waits.check_approver`)."""
    with opened(project) as store:
        task = lifecycle.change(
            store,
            validate.task_ref(ref),
            current_agent(agent),
            "approve_as",
            name=name,
            caller=caller,
            env=dict(os.environ) if env is None else env,
        )
    return TaskResult(task)


def update(
    project: Project,
    ref: str,
    *,
    title: str | None = None,
    description: str | None = None,
    priority: int | None = None,
    add_labels: Sequence[str] = (),
    remove_labels: Sequence[str] = (),
    add_deps: Sequence[str] = (),
    remove_deps: Sequence[str] = (),
    gates: Sequence[Gate] | None = None,
    parent: str | None = None,
    commands: Sequence[Gate] | None = None,
    waits: Sequence[str] | None = None,
    agent: str | None = None,
    caller: Caller = Caller.PERSON,
    at_terminal: bool = False,
) -> TaskResult:
    """Edit a task (``nexus task edit``, MCP ``task_update``); each field changed is a history
    entry. ``gates`` replaces every gate; ``parent`` ``""`` removes the parent.

    Gates follow ``task gate add``: a gate added or changed by a person on the command line at
    a terminal (``at_terminal``, which only the CLI passes) is approved by that act; any other
    waits for a person's approval. An agent cannot remove a gate (a person can), and no one
    can leave a project that requires gates with none.
    """
    for dep in (*add_deps, *remove_deps):
        validate.task_ref(dep)
    if parent:
        validate.task_ref(parent)
    if gates is not None:
        gates = tuple(gates)
        if not gates and load_settings(project).require_gate:
            raise UsageError("this project requires a verification gate", hint=_GATE_HINT[caller])
    wait_gates = None if waits is None else waiting_gates(waits)
    change = editing.TaskEdit(
        title=title,
        description=description,
        priority=priority,
        add_labels=tuple(add_labels),
        remove_labels=tuple(remove_labels),
        add_deps=tuple(add_deps),
        remove_deps=tuple(remove_deps),
        gates=gates,
        commands=None if commands is None else tuple(commands),
        waits=wait_gates,
        parent=parent,
        via=provenance.via_for(caller),
        may_remove_gates=caller is Caller.PERSON,
    )
    if change.is_empty():
        raise UsageError("nothing to change", hint="pass what to change, e.g. --title TEXT")
    with opened(project) as store:
        task, added = editing.edit(store, validate.task_ref(ref), current_agent(agent), change)
    if added and caller is Caller.PERSON and at_terminal:
        approvals.approve(project, task.id, approvals.to_approve(task, added), how="gate-add")
    return TaskResult(task)


def split(
    project: Project,
    ref: str,
    titles: Sequence[str],
    *,
    agent: str | None = None,
    caller: Caller = Caller.PERSON,
) -> SplitResult:
    """Turn a task into an epic with one subtask per title (each gets the parent's gates; a
    person's split approves them, as creating a task does)."""
    with opened(project) as store:
        parent, children = editing.split(
            store,
            validate.task_ref(ref),
            current_agent(agent),
            list(titles),
            via=provenance.via_for(caller),
        )
    if caller is Caller.PERSON:
        for child in children:
            approvals.approve(project, child.id, approvals.gates_of(child), how="created")
    return SplitResult(parent, children)


def defer(project: Project, ref: str, until: str | None, *, agent: str | None = None) -> TaskResult:
    """Keep a task out of ``ready`` until ``until`` (strict date, :mod:`moments`); None
    undoes it."""
    moment = None if until is None else parse_moment(until, what="--until")
    with opened(project) as store:
        task = lifecycle.change(
            store, validate.task_ref(ref), current_agent(agent), "defer", until=moment
        )
    return TaskResult(task)


def record_loop_iteration(
    project: Project,
    ref: str,
    *,
    agent: str | None = None,
    iteration: int,
    agent_exit_code: int,
    duration_ms: int,
    gates: list[dict[str, Any]],
    passed: bool,
) -> TaskResult:
    """Record one `nexus loop` iteration in the task's history (``loop_iteration``)."""
    with opened(project) as store:
        task = lifecycle.log(
            store,
            validate.task_ref(ref),
            current_agent(agent),
            "loop_iteration",
            iteration=iteration,
            agent_exit_code=agent_exit_code,
            duration_ms=duration_ms,
            gates=gates,
            passed=passed,
        )
    return TaskResult(task)


def verify(project: Project, ref: str, *, agent: str | None = None) -> Verification:
    """Run the task's gates and record the runs; the status does not change."""
    with opened(project) as store:
        return verify_gates(store, validate.task_ref(ref), current_agent(agent))


def complete(project: Project, ref: str, *, agent: str | None = None) -> Verification:
    """Run every gate; the task becomes done (or review) only if all pass."""
    with opened(project) as store:
        return complete_gates(
            store, validate.task_ref(ref), current_agent(agent), load_settings(project)
        )
