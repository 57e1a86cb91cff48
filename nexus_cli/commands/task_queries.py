"""`nexus task show|blocked`: reading tasks through the task model (`history`, which adds GPU
use, is in :mod:`nexus_cli.commands.task_history`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from nexus_cli.commands.task_common import line, project, task_id_arg
from nexus_cli.output import emit_json, json_option, print_table
from nexus_cli.tasks.queries import blocked as blocked_tasks
from nexus_cli.tasks.queries import show as show_task
from nexus_cli.terminal import escape

if TYPE_CHECKING:
    from nexus_cli.tasks.model import Task
    from nexus_cli.tasks.waits import WaitState


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
    if task.parent:
        click.echo(f"  subtask of: {line(task.parent)}")
    if task.deferred_until:
        click.echo(f"  deferred until: {line(task.deferred_until[:16].replace('T', ' '))} UTC")
    for gate in task.gates:
        if gate.wait is not None:
            click.echo(f"  gate: {line(gate.command)} (waits; runs nothing)")
            continue
        where = f" [in {line(gate.service)}]" if gate.service else ""
        click.echo(f"  gate: {line(gate.command)}{where} (timeout {gate.timeout_s}s)")
    if not task.gates:
        click.echo("  gates: none (--no-gates)" if task.no_gates else "  gates: none")
    if task.compacted is not None:
        _show_compacted(task)
    elif task.description:
        click.echo("")
        click.echo(escape(task.description))
    for note in task.notes:
        at, by = str(note.get("at", ""))[:16], str(note.get("by", ""))
        click.echo(f"  note {line(at)} {line(by)}: {escape(str(note.get('text', '')))}")


def _show_compacted(task: Task) -> None:
    """What `nexus task compact` kept of a task closed long ago: its summary and receipts."""
    info = task.compacted or {}
    click.echo(
        f"  compacted: {line(str(info.get('at', ''))[:16].replace('T', ' '))} UTC "
        f"(closed {line(str(info.get('closed_at', ''))[:16].replace('T', ' '))} UTC); dropped "
        f"{info.get('dropped_notes', 0)} note(s), {info.get('dropped_history', 0)} history "
        "entries (git has them)"
    )
    if task.description:
        click.echo(f"  summary: {line(task.description)}")
    for entry in task.history:
        receipt = entry.get("receipt")
        if entry.get("action") == "gate_run" and isinstance(receipt, dict):
            click.echo(
                f"  receipt {line(str(receipt.get('at', ''))[:16])}: "
                f"{line(str(entry.get('command') or ''))} exit {receipt.get('exit_code')} "
                f"{receipt_summary(receipt)}"
            )


@click.command()
@task_id_arg
@json_option
def show(task_id: str, as_json: bool) -> None:
    """Show one task (any unique ID prefix works)."""
    _show(show_task(project(), task_id).task, as_json)


@click.command()
@json_option
def blocked(as_json: bool) -> None:
    """Unfinished tasks waiting on unfinished dependencies or on waiting gates.

    A waiting gate shows while it is not satisfied: approval:NAME until NAME approves
    (`nexus task approve ID --as NAME`), after:WHEN until then, task:ID until that task is done.
    """
    found = blocked_tasks(project())
    if as_json:
        emit_json(found.to_json())
        return
    rows = [
        (t.id, f"P{t.priority}", t.status, _waits_on(deps, found.waiting.get(t.id, [])), t.title)
        for t, deps in found.pairs
    ]
    print_table(("ID", "PRI", "STATUS", "BLOCKED BY", "TITLE"), rows, empty="nothing is blocked")


def _waits_on(deps: list[str], states: list[WaitState]) -> str:
    return ", ".join([*deps, *(f"{s.gate.command} ({s.reason})" for s in states)])


def receipt_summary(receipt: dict[str, object]) -> str:
    """A receipt in one history cell: the tree it ran on, and whether it is signed."""
    tree = str(receipt.get("tree") or "-")[:12]
    signed = "signed" if receipt.get("signature") else "unsigned"
    return f"tree:{tree},{signed}"
