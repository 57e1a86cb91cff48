"""`nexus task complete|verify|gate`: running verification gates and showing their results."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from nexus_cli.commands.task_changes import change_task
from nexus_cli.commands.task_common import line, project, task_id_arg
from nexus_cli.lazy import NexusGroup
from nexus_cli.output import emit_json, info, json_option
from nexus_cli.tasks.actions import complete as complete_task
from nexus_cli.tasks.actions import verify as verify_task
from nexus_cli.tasks.model import Gate
from nexus_cli.tasks.verification import failure
from nexus_cli.terminal import escape

if TYPE_CHECKING:
    from nexus_cli.tasks.verification import Verification


@click.group(cls=NexusGroup)
def gate() -> None:
    """Add verification gates to a task."""


@gate.command(name="add")
@task_id_arg
@click.argument("command")
@click.option("--timeout", type=click.IntRange(1), default=600, show_default=True, help="Seconds.")
@click.option("--in", "service", metavar="SERVICE", help="Run inside this workspace service.")
@json_option
def gate_add(task_id: str, command: str, timeout: int, service: str | None, as_json: bool) -> None:
    """Add a gate (a shell command that must exit 0) to a task."""
    change_task(task_id, "gate_add", as_json, gate=Gate(command, timeout, service))


def _print_results(verification: Verification) -> None:
    for r in verification.results:
        command = line(r.gate.command)
        if r.passed:
            info(f"PASS  {command}  ({r.duration_ms} ms)")
            continue
        why = (
            "timed out"
            if r.timed_out
            else ("did not start" if not r.started else f"exit {r.exit_code}")
        )
        info(f"FAIL  {command}  ({why}, {r.duration_ms} ms) in {line(r.where)}")
        for text in r.output_tail.splitlines():
            info(f"    | {escape(text, newlines=False)}")


@click.command()
@task_id_arg
@json_option
def complete(task_id: str, as_json: bool) -> None:
    """Run every gate; only if all pass does the task become done (or review). Exit 3 otherwise."""
    verification = complete_task(project(), task_id)
    stale = verification.taken_over_from
    if stale is not None:
        info(
            f"took over task {verification.task.id}: its verification by pid "
            f"{stale.get('pid', '?')} had stopped (the process is gone)"
        )
    _print_results(verification)
    if as_json:
        emit_json(verification.to_json())
    if not verification.passed:
        raise failure(verification, moved=True)
    if not as_json:
        done = verification.task
        click.echo(f"{done.id}  {done.status}  {line(done.title)}")


@click.command()
@task_id_arg
@json_option
def verify(task_id: str, as_json: bool) -> None:
    """Run the gates without changing the task's status (exit 3 if one fails)."""
    verification = verify_task(project(), task_id)
    _print_results(verification)
    if as_json:
        emit_json(verification.to_json())
    if not verification.passed:
        raise failure(verification, moved=False)
