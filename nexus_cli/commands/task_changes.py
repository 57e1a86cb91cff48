"""`nexus task create` and the changes: assign, claim, start, approve, reject, reopen, cancel, note,
dep add|remove (each one named change applied through the core)."""

from __future__ import annotations

import os
from typing import Any

import click

from nexus_cli.caller import Caller
from nexus_cli.commands.options import shown_default_option
from nexus_cli.commands.task_common import agent_option, line, project, task_id_arg
from nexus_cli.completion import completer
from nexus_cli.errors import NexusError, NoTerminalError
from nexus_cli.lazy import NexusGroup
from nexus_cli.output import emit_json, info, json_option
from nexus_cli.suggest import did_you_mean
from nexus_cli.tasks import approvals, waits
from nexus_cli.tasks.actions import approve_as, change
from nexus_cli.tasks.actions import create as create_task
from nexus_cli.tasks.model import Task
from nexus_cli.tasks.queries import show as show_task
from nexus_cli.workspaces import records
from nexus_cli.workspaces.handle import Workspace

WAIT_HELP = (
    "A waiting gate (repeat): approval:NAME, after:2026-12-24T09:00Z, task:ID or task:PATH#ID."
)


def change_task(
    task_id: str, action: str, as_json: bool = False, agent: str | None = None, **kw: Any
) -> str | None:
    """Apply one named change through the core; print the task. Returns the stage persona that
    a ``start`` switched the task's workspace to, if any."""
    changed = change(project(), task_id, action, agent=agent, **kw)
    task = changed.task
    if as_json:
        emit_json(changed.to_json())
    else:
        who = line(task.assignee or "-")
        click.echo(f"{task.id}  {task.status}  {who}  {line(task.title)}")
    return changed.persona


@click.command()
@click.argument("title")
@click.option("-d", "--description", default="", help="What done looks like.")
@click.option("-p", "--priority", type=click.IntRange(0, 4), default=2, show_default=True)
@click.option(
    "--depends-on", "depends_on", multiple=True, metavar="ID", shell_complete=completer("task")
)
@click.option(
    "--gate", "gates", multiple=True, metavar="CMD", help="Verification command (repeat)."
)
@shown_default_option("--gate-timeout", click.IntRange(1), 600, "Seconds per gate.")
@click.option(
    "--in", "service", metavar="SERVICE", help="Run the gates inside this workspace service."
)
@click.option(
    "--no-gates",
    is_flag=True,
    help="Create it without gates (a detected test command is not used; refused where the "
    "project requires gates; recorded in its history).",
)
@click.option("--workspace", metavar="W", help="Workspace whose worktree the gates run in.")
@click.option("--label", "labels", multiple=True, metavar="L")
@click.option(
    "--parent", metavar="ID", shell_complete=completer("task"), help="Make it a subtask of ID."
)
@click.option("--wait", "waits", multiple=True, metavar="SPEC", help=WAIT_HELP)
@json_option
def create(
    title: str,
    description: str,
    priority: int,
    depends_on: tuple[str, ...],
    gates: tuple[str, ...],
    gate_timeout: int,
    service: str | None,
    no_gates: bool,
    workspace: str | None,
    labels: tuple[str, ...],
    parent: str | None,
    waits: tuple[str, ...],
    as_json: bool,
) -> None:
    """Create a task. Without --gate, test commands detected in the project become its gates.

    If none is detected, pass --gate CMD or, explicitly, --no-gates. A --wait gate runs nothing:
    it waits for a person (approval:NAME, see `nexus task approve --as`), a moment
    (after:2026-12-24T09:00Z) or a task (task:ID, or task:../other-repo#ID).
    """
    created = create_task(
        project(),
        title,
        gates=gates,
        no_gates=no_gates,
        gate_timeout_s=gate_timeout,
        service=service,
        workspace=workspace,
        description=description,
        priority=priority,
        depends_on=depends_on,
        labels=labels,
        parent=parent,
        waits=waits,
    )
    if created.gates_detected:
        commands = ", ".join(g.command for g in created.task.gates if g.wait is None)
        info(f"gates detected: {commands} (override with --gate)")
    if no_gates:
        info("warning: task created without gates (--no-gates); this is recorded in its history")
    if workspace is not None:
        _warn_if_no_workspace(workspace)
    if as_json:
        emit_json(created.to_json())
    else:
        click.echo(created.task.id)


def _warn_if_no_workspace(name: str) -> None:
    """A task may name a workspace made later; until then its gates run in the project root,
    which a mistyped name would make for good: say so (with the nearest names)."""
    where = project()
    if Workspace(where, name).existing_worktree() is not None:
        return
    nearest = did_you_mean(name, records.load_all(where.state_dir))
    info(
        f"warning: workspace {line(name)!r} does not exist (yet): until it does, the task's "
        "gates run in the project root" + (f"; {nearest}" if nearest else "")
    )


@click.command()
@task_id_arg
@click.argument("agent_name", metavar="AGENT")
@json_option
def assign(task_id: str, agent_name: str, as_json: bool) -> None:
    """Assign a task to AGENT (an empty string unassigns)."""
    change_task(task_id, "assign", as_json, assignee=agent_name)


@click.command()
@task_id_arg
@agent_option
@click.option(
    "--lease",
    "lease_s",
    type=click.IntRange(1, 7 * 24 * 3600),
    default=None,
    metavar="SECONDS",
    help="How long the claim lasts without a heartbeat (default: tasks.lease_seconds, 900).",
)
@json_option
def claim(task_id: str, agent: str | None, lease_s: int | None, as_json: bool) -> None:
    """Atomically take an open task: of many simultaneous claims exactly one wins."""
    change_task(task_id, "claim", as_json, agent=agent, lease_s=lease_s)


@click.command()
@task_id_arg
@agent_option
@json_option
def reclaim(task_id: str, agent: str | None, as_json: bool) -> None:
    """Take back a claimed task whose lease expired: it becomes open again."""
    change_task(task_id, "reclaim", as_json, agent=agent)


@click.command()
@task_id_arg
@json_option
def start(task_id: str, as_json: bool) -> None:
    """Start working on a task (assigns it to you).

    A workflow stage in a workspace switches that workspace to the stage's persona.
    """
    persona = change_task(task_id, "start", as_json)
    if persona:
        info(f"workspace persona: {persona}")


@click.command()
@task_id_arg
@click.option(
    "--as",
    "name",
    metavar="NAME",
    help="Satisfy the task's approval:NAME gate (asked on the terminal).",
)
@json_option
def approve(task_id: str, name: str | None, as_json: bool) -> None:
    """Approve a task in review: it becomes done. With --as NAME, give NAME's approval instead.

    Either is asked once on /dev/tty: only a person at a terminal can answer (no --yes; an
    agent over MCP, the agent of `nexus loop` or a shell without a terminal cannot, exit 4).

    --as NAME satisfies the task's `approval: NAME` gate and records who typed it and when in
    its history; the task then completes with `nexus task complete` once its other gates pass.
    A name that no approval gate of the task asks for is refused.
    """
    shown = show_task(project(), task_id).task
    if name is None:
        _approve_review(shown, as_json)
        return
    waits.check_approver(shown, name, Caller.PERSON, dict(os.environ))
    question = (
        f"Approve task {shown.id} ({line(shown.title)}) as {line(name)}? "
        "This satisfies its approval gate and is recorded in its history. [y/N] "
    )
    _ask_person(
        question,
        no_terminal=f"approving as {line(name)} needs a person at a terminal, and this process "
        "has none",
        hint=f"{line(name)} runs `nexus task approve {shown.id} --as {line(name)}` in a terminal",
        declined=f"nothing approved: task {shown.id} still waits for {line(name)}",
    )
    result = approve_as(project(), shown.id, name)
    if as_json:
        emit_json(result.to_json())
    else:
        task = result.task
        click.echo(f"{task.id}  {task.status}  approved as {line(name)}  {line(task.title)}")


def _approve_review(shown: Task, as_json: bool) -> None:
    """Approve a task in review into done, asked once on /dev/tty (a person looks at the work
    here: no flag, pipe or agent's shell tool answers; the core refuses an agent)."""
    waits.refuse_agents(
        Caller.PERSON,
        os.environ,
        "a task in review waits for a person",
        f"`nexus task approve {shown.id}`",
    )
    if shown.status != "review":  # said before asking (the core refuses it again)
        change_task(shown.id, "approve", as_json)
        return
    question = (
        f"Approve task {shown.id} ({line(shown.title)})? Its gates passed; it becomes done. [y/N] "
    )
    _ask_person(
        question,
        no_terminal=f"approving task {shown.id} needs a person at a terminal, and this process "
        "has none",
        hint=f"run `nexus task approve {shown.id}` yourself, in a terminal",
        declined=f"nothing approved: task {shown.id} stays in review",
    )
    change_task(shown.id, "approve", as_json)


def _ask_person(question: str, *, no_terminal: str, hint: str, declined: str) -> None:
    """Ask ``question`` once on /dev/tty (:func:`approvals.ask_person`): ``no_terminal`` (exit 4,
    with ``hint``) when this process has none, ``declined`` unless the answer is yes."""
    try:
        answered = approvals.ask_person(question)
    except NoTerminalError:
        raise NoTerminalError(no_terminal, hint=hint) from None
    if not answered:
        raise NexusError(declined)


@click.command()
@task_id_arg
@click.option("--reason", required=True, help="What must change (kept in the history).")
@json_option
def reject(task_id: str, reason: str, as_json: bool) -> None:
    """Send a task in review (or done) back to work."""
    change_task(task_id, "reject", as_json, reason=reason)


@click.command()
@task_id_arg
@json_option
def reopen(task_id: str, as_json: bool) -> None:
    """Reopen a done, cancelled, rejected or in-progress task."""
    change_task(task_id, "reopen", as_json)


@click.command()
@task_id_arg
@click.option("--reason", required=True, help="Why (kept in the history).")
@json_option
def cancel(task_id: str, reason: str, as_json: bool) -> None:
    """Cancel a task."""
    change_task(task_id, "cancel", as_json, reason=reason)


@click.command()
@task_id_arg
@click.argument("text")
@json_option
def note(task_id: str, text: str, as_json: bool) -> None:
    """Add a note to a task."""
    change_task(task_id, "note", as_json, text=text)


@click.group(cls=NexusGroup)
def dep() -> None:
    """Add or remove dependencies (cycles are refused)."""


@dep.command(name="add")
@task_id_arg
@click.argument("dependency", metavar="DEP", shell_complete=completer("task"))
@json_option
def dep_add(task_id: str, dependency: str, as_json: bool) -> None:
    """Make ID depend on DEP: ID is blocked until DEP is done or cancelled."""
    change_task(task_id, "dep_add", as_json, dep=dependency)


@dep.command(name="remove")
@task_id_arg
@click.argument("dependency", metavar="DEP", shell_complete=completer("task"))
@json_option
def dep_remove(task_id: str, dependency: str, as_json: bool) -> None:
    """Remove DEP from ID's dependencies."""
    change_task(task_id, "dep_remove", as_json, dep=dependency)
