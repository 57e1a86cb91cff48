"""`nexus task complete|verify|gate`: running verification gates, showing and approving them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from nexus_cli.commands import options
from nexus_cli.commands.task_changes import WAIT_HELP, change_task
from nexus_cli.commands.task_common import line, project, task_id_arg
from nexus_cli.completion import completer
from nexus_cli.errors import NexusError, UsageError
from nexus_cli.lazy import NexusGroup
from nexus_cli.output import emit_json, info, json_option
from nexus_cli.plural import plural
from nexus_cli.tasks import approvals, gate_review
from nexus_cli.tasks.actions import complete as complete_task
from nexus_cli.tasks.actions import verify as verify_task
from nexus_cli.tasks.actions import waiting_gates
from nexus_cli.tasks.approvals import Approval
from nexus_cli.tasks.gate_review import Review
from nexus_cli.tasks.model import Gate
from nexus_cli.tasks.verification import failure
from nexus_cli.terminal import escape

if TYPE_CHECKING:
    from nexus_cli.tasks.verification import Verification


@click.group(cls=NexusGroup)
def gate() -> None:
    """Add verification gates to a task, list them, approve the ones that wait."""


@gate.command(name="add")
@task_id_arg
@click.argument("command", required=False)
@click.option("--timeout", type=click.IntRange(1), default=600, show_default=True, help="Seconds.")
@click.option("--in", "service", metavar="SERVICE", help="Run inside this workspace service.")
@click.option("--wait", "wait", metavar="SPEC", help=WAIT_HELP.replace(" (repeat)", ""))
@json_option
def gate_add(
    task_id: str,
    command: str | None,
    timeout: int,
    service: str | None,
    wait: str | None,
    as_json: bool,
) -> None:
    """Add a gate to a task: a shell COMMAND that must exit 0, or a waiting gate (--wait).

    Typed at a terminal, a command gate is approved by that act; without a terminal (a script,
    an agent's shell) it waits until a person runs `nexus task gate approve ID`. A waiting gate
    runs nothing and needs no approval: approval:NAME waits for `nexus task approve ID --as
    NAME`, after:2026-12-24T09:00Z for that moment, task:ID (or task:../other-repo#ID) for that
    task to be done.
    """
    if (command is None) == (wait is None):
        raise UsageError("give a COMMAND or --wait SPEC (one gate at a time)")
    if wait is not None:
        if service is not None:
            raise UsageError("--in SERVICE applies to a command gate; a waiting gate runs nothing")
        (new,) = waiting_gates([wait])
        change_task(task_id, "gate_add", as_json, gate=new, at_terminal=False)
        return
    assert command is not None
    new = Gate(command, timeout, service)
    at_terminal = options.stdin_is_terminal()
    change_task(task_id, "gate_add", as_json, gate=new, at_terminal=at_terminal)
    if not at_terminal:
        info(f"the gate waits for a person's approval: nexus task gate approve {line(task_id)}")


@gate.command(name="list")
@task_id_arg
@json_option
def gate_list(task_id: str, as_json: bool) -> None:
    """Each gate of a task: approved (and how) or needs approval."""
    found = gate_review.gate_list(project(), task_id)
    if as_json:
        emit_json(found.to_json())
        return
    click.echo(f"{found.task.id}  {line(found.task.title)}")
    for status in found.gates:
        where = f" [in {line(status.gate.service)}]" if status.gate.service else ""
        if status.gate.wait is not None:
            click.echo(f"  {'waits (runs nothing)':<30}  {line(status.gate.command)}")
            continue
        click.echo(f"  {_approval_text(status.approval):<30}  {line(status.gate.command)}{where}")
    if not found.gates:
        click.echo("  gates: none")


def _approval_text(approval: Approval | None) -> str:
    if approval is None:
        return "needs approval"
    if approval.how == "rule":
        return f"approved (rule {line(approval.rule or '')})"
    when = f", {approval.at[:10]}" if approval.at else ""
    return f"approved ({approval.how}{when})"


@gate.command(name="approve")
@click.argument("task_ids", metavar="[ID]...", nargs=-1, shell_complete=completer("task"))
@click.option("--all", "every", is_flag=True, help="Every unfinished task with a waiting gate.")
def gate_approve(task_ids: tuple[str, ...], every: bool) -> None:
    """Review the gates that wait for approval, and approve them (asked on the terminal).

    Shows each waiting command exactly, the diff from the commands approved before and who
    changed them, then asks once on /dev/tty. Only a person can answer: there is no --yes,
    and a pipe, an environment variable or an agent without a terminal cannot (exit 4).
    """
    where = project()
    reviews = gate_review.review(where, task_ids, every=every)
    if not reviews:
        info("no gate waits for approval")
        return
    count = sum(len(r.waiting) for r in reviews)
    question = (
        f"Approve {plural(count, 'gate')} of {plural(len(reviews), 'task')} to run as shell "
        f"commands in {line(str(where.root))}? [y/N] "
    )
    if not approvals.ask_person(_review_screen(reviews) + question):
        raise NexusError("nothing approved: the gates still wait")
    approved = gate_review.approve_reviewed(where, reviews)
    ids = ", ".join(r.task.id for r in reviews)
    info(f"approved {plural(approved, 'gate')} of {ids}")


def _review_screen(reviews: list[Review]) -> str:
    """What a person reads before answering: every waiting command exactly, escaped."""
    out = ["Gates that wait for your approval (each runs as a shell command on this machine):"]
    for item in reviews:
        task = item.task
        out += ["", f"{task.id}  {line(task.title)}  [{task.status}]", "  waiting:"]
        for g in item.waiting:
            where = f"  [in service {line(g.service)}]" if g.service else ""
            out.append(f"    {line(g.command)}{where}")
        if item.previous:
            out.append("  against the commands approved for this task before:")
        else:
            out.append("  no command was approved for this task before:")
        out += [f"    {line(d)}" for d in item.diff()]
        out.append("  how its gates were set (from its history, which anyone can edit):")
        out += [f"    {line(c)}" for c in item.change_lines()] or ["    (no record)"]
    return "\n".join(out) + "\n\n"


def _print_results(verification: Verification) -> None:
    for r in verification.results:
        command = line(r.gate.command)
        if r.gate.wait is not None:  # nothing ran: the reason is what it waits on
            info(f"{'PASS' if r.passed else 'WAIT'}  {command}  ({line(r.output_tail)})")
            continue
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
        ended = verification.ended_left_running
        info(
            f"took over task {verification.task.id}: its verification by pid "
            f"{stale.get('pid', '?')} had stopped (the process is gone)"
            + (
                f"; ended {plural(ended, 'gate process', 'gate processes')} it left running"
                if ended
                else ""
            )
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
