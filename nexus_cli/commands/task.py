"""`nexus task`: tasks with verification gates that cannot be skipped, shared through git."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from nexus_cli.caller import Caller
from nexus_cli.commands import task_gates
from nexus_cli.commands.options import shown_default_option
from nexus_cli.commands.task_common import (
    STATUS_CHOICES,
    agent_option,
    change_task,
    line,
    project,
    task_id_arg,
)
from nexus_cli.completion import completer
from nexus_cli.lazy import NexusGroup
from nexus_cli.output import emit_json, info, json_option, print_table
from nexus_cli.tasks.actions import create as create_task
from nexus_cli.tasks.context import handoff
from nexus_cli.tasks.limits import READY_LIMIT
from nexus_cli.tasks.listing import list_tasks
from nexus_cli.tasks.listing import ready as ready_tasks
from nexus_cli.tasks.merge import merge_files
from nexus_cli.tasks.queries import blocked as blocked_tasks
from nexus_cli.tasks.queries import history as task_history
from nexus_cli.tasks.queries import show as show_task
from nexus_cli.telemetry.journal import invocation
from nexus_cli.terminal import escape

if TYPE_CHECKING:
    from nexus_cli.tasks.listing import TaskListing
    from nexus_cli.tasks.model import Task


def _rows(tasks: list[Task]) -> list[tuple[Any, ...]]:
    return [(t.id, f"P{t.priority}", t.status, t.assignee or "-", t.title) for t in tasks]


def _listing(found: TaskListing, as_json: bool, empty: str) -> None:
    """Print tasks: their canonical JSON passed through as-is with --json (fast), or a table."""
    if as_json:
        click.echo(found.json_text())
        return
    print_table(("ID", "PRI", "STATUS", "ASSIGNEE", "TITLE"), _rows(found.tasks()), empty=empty)


def _show(task: Task, as_json: bool) -> None:
    if as_json:
        emit_json(task.to_dict())
        return
    click.echo(f"{task.id}  {line(task.title)}")
    click.echo(
        f"  status: {task.status}   priority: P{task.priority}   "
        f"assignee: {line(task.assignee or '-')}"
    )
    if task.workspace:
        click.echo(f"  workspace: {line(task.workspace)}")
    if task.labels:
        click.echo(f"  labels: {line(', '.join(task.labels))}")
    if task.depends_on:
        click.echo(f"  depends on: {line(', '.join(task.depends_on))}")
    for gate in task.gates:
        where = f" [in {line(gate.service)}]" if gate.service else ""
        click.echo(f"  gate: {line(gate.command)}{where} (timeout {gate.timeout_s}s)")
    if not task.gates:
        click.echo("  gates: none (--no-gates)" if task.no_gates else "  gates: none")
    if task.description:
        click.echo("")
        click.echo(escape(task.description))
    for note in task.notes:
        at, by = str(note.get("at", ""))[:16], str(note.get("by", ""))
        click.echo(f"  note {line(at)} {line(by)}: {escape(str(note.get('text', '')))}")


@click.group(cls=NexusGroup)
def task() -> None:
    """Track tasks whose verification gates must pass before they are done.

    Tasks live in .nexus/tasks.db (local) and .nexus/tasks.jsonl (commit it to share).
    """
    invocation.note(event_type="task")


@task.command()
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
    help="Create it without gates (only where none is detected; recorded in its history).",
)
@click.option("--workspace", metavar="W", help="Workspace whose worktree the gates run in.")
@click.option("--label", "labels", multiple=True, metavar="L")
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
    as_json: bool,
) -> None:
    """Create a task. Without --gate, test commands detected in the project become its gates.

    If none is detected, pass --gate CMD or, explicitly, --no-gates.
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
    )
    if created.gates_detected:
        commands = ", ".join(g.command for g in created.task.gates)
        info(f"gates detected: {commands} (override with --gate)")
    if no_gates:
        info("warning: task created without gates (--no-gates); this is recorded in its history")
    if as_json:
        emit_json(created.to_json())
    else:
        click.echo(created.task.id)


@task.command(name="list")
@click.option("--status", type=STATUS_CHOICES)
@click.option("--assignee", metavar="A")
@click.option("--label", metavar="L")
@click.option("--workspace", metavar="W")
@json_option
def list_(
    status: str | None,
    assignee: str | None,
    label: str | None,
    workspace: str | None,
    as_json: bool,
) -> None:
    """List tasks by priority, then age."""
    found = list_tasks(
        project(), status=status, assignee=assignee, label=label, workspace=workspace
    )
    _listing(found, as_json, "no tasks")


@task.command()
@task_id_arg
@json_option
def show(task_id: str, as_json: bool) -> None:
    """Show one task (any unique ID prefix works)."""
    _show(show_task(project(), task_id).task, as_json)


@task.command()
@agent_option
@click.option(
    "-n",
    "--limit",
    type=click.IntRange(0),
    default=READY_LIMIT[Caller.PERSON],
    show_default=True,
    help="0: all.",
)
@json_option
def ready(agent: str | None, limit: int, as_json: bool) -> None:
    """Open tasks with no unfinished dependency, unassigned or yours, by priority then age."""
    _listing(ready_tasks(project(), agent=agent, limit=limit), as_json, "nothing is ready")


@task.command()
@json_option
def blocked(as_json: bool) -> None:
    """Unfinished tasks waiting on unfinished dependencies."""
    found = blocked_tasks(project())
    if as_json:
        emit_json(found.to_json())
        return
    rows = [(t.id, f"P{t.priority}", t.status, ", ".join(deps), t.title) for t, deps in found.pairs]
    print_table(("ID", "PRI", "STATUS", "BLOCKED BY", "TITLE"), rows, empty="nothing is blocked")


@task.command()
@task_id_arg
@click.argument("agent_name", metavar="AGENT")
@json_option
def assign(task_id: str, agent_name: str, as_json: bool) -> None:
    """Assign a task to AGENT (an empty string unassigns)."""
    change_task(task_id, "assign", as_json, assignee=agent_name)


@task.command()
@task_id_arg
@agent_option
@json_option
def claim(task_id: str, agent: str | None, as_json: bool) -> None:
    """Atomically take an open task: of many simultaneous claims exactly one wins."""
    change_task(task_id, "claim", as_json, agent=agent)


@task.command()
@task_id_arg
@json_option
def start(task_id: str, as_json: bool) -> None:
    """Start working on a task (assigns it to you).

    A workflow stage in a workspace switches that workspace to the stage's persona.
    """
    persona = change_task(task_id, "start", as_json)
    if persona:
        info(f"workspace persona: {persona}")


@task.command()
@task_id_arg
@json_option
def approve(task_id: str, as_json: bool) -> None:
    """Approve a task in review: it becomes done."""
    change_task(task_id, "approve", as_json)


@task.command()
@task_id_arg
@click.option("--reason", required=True, help="What must change (kept in the history).")
@json_option
def reject(task_id: str, reason: str, as_json: bool) -> None:
    """Send a task in review (or done) back to work."""
    change_task(task_id, "reject", as_json, reason=reason)


@task.command()
@task_id_arg
@json_option
def reopen(task_id: str, as_json: bool) -> None:
    """Reopen a done, cancelled, rejected or in-progress task."""
    change_task(task_id, "reopen", as_json)


@task.command()
@task_id_arg
@click.option("--reason", required=True, help="Why (kept in the history).")
@json_option
def cancel(task_id: str, reason: str, as_json: bool) -> None:
    """Cancel a task."""
    change_task(task_id, "cancel", as_json, reason=reason)


@task.command()
@task_id_arg
@click.argument("text")
@json_option
def note(task_id: str, text: str, as_json: bool) -> None:
    """Add a note to a task."""
    change_task(task_id, "note", as_json, text=text)


@task.group(cls=NexusGroup)
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


@task.command()
@task_id_arg
@json_option
def history(task_id: str, as_json: bool) -> None:
    """Every transition, gate run and change, with who, when and why."""
    found = task_history(project(), task_id)
    if as_json:
        emit_json(found.to_json())
        return
    rows = []
    for h in found.to_json():
        detail = {k: v for k, v in h.items() if k not in ("at", "by", "action", "output_tail")}
        text = " ".join(f"{k}={'-' if v is None else v}" for k, v in detail.items())
        when = str(h.get("at", ""))[:19].replace("T", " ")
        rows.append((when, str(h.get("by", "")), str(h.get("action", "")), text))
    print_table(("WHEN (UTC)", "WHO", "WHAT", "DETAILS"), rows)


@task.command()
@click.argument("task_id", metavar="[ID]", required=False, shell_complete=completer("task"))
@click.option("--current", is_flag=True, help="Your most recently changed task in progress.")
def context(task_id: str | None, current: bool) -> None:
    """Print a Markdown hand-off: goal, gates, last gate output, rejections, notes, related tasks.

    With --current (used by the Claude Code PreCompact hook), prints nothing when no task is yours.
    """
    found = handoff(project(), task_id, current=current)
    if found is not None:
        click.echo(escape(found.markdown))


@task.command(name="merge-driver", hidden=True)
@click.argument("base", type=click.Path(dir_okay=False))
@click.argument("ours", type=click.Path(dir_okay=False))
@click.argument("theirs", type=click.Path(dir_okay=False))
def merge_driver(base: str, ours: str, theirs: str) -> None:
    """Git merge driver for .nexus/tasks.jsonl (installed by `nexus init`): %O %A %B."""
    merge_files(Path(base), Path(ours), Path(theirs))


for _command in (task_gates.complete, task_gates.verify, task_gates.gate):
    task.add_command(_command)
