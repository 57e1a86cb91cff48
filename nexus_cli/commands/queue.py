"""``nexus queue``: the merge queue (list, add, run, remove)."""

from __future__ import annotations

import click

from nexus_cli.commands.task_common import agent_option, project
from nexus_cli.completion import completer
from nexus_cli.errors import ExitCode
from nexus_cli.lazy import NexusGroup
from nexus_cli.output import emit_json, info, json_option, print_table
from nexus_cli.tasks import merge_queue, merge_run
from nexus_cli.telemetry.journal import invocation
from nexus_cli.terminal import escape


@click.group(cls=NexusGroup)
def queue() -> None:
    """The merge queue: finished tasks' branches, brought into their target one at a time.

    Each entry is rebased (or merged, `queue.strategy` in .nexus/config.yaml) onto its target in a
    scratch worktree, its task's gates run again on that combined tree, and only then is the
    target advanced (`git update-ref` with the old value). A conflict or a failing gate sends the
    task back (`queue.on_failure`: open, the default, or rejected) with the output in a note.
    """
    invocation.note(event_type="task")


@queue.command("list")
@json_option
def list_queue(as_json: bool) -> None:
    """The queued tasks in order, and the latest outcomes."""
    state = merge_queue.read(project())
    if as_json:
        emit_json(state.to_json())
        return
    print_table(
        ("#", "task", "branch", "into", "queued", "by"),
        [
            (str(n), e.task, escape(e.branch), escape(e.target), e.queued_at[:19], escape(e.by))
            for n, e in enumerate(state.entries, start=1)
        ],
        empty="the merge queue is empty",
    )
    for outcome in state.recent[-5:]:
        info(
            f"{escape(str(outcome.get('at', ''))[:19])}  {escape(str(outcome.get('task')))}  "
            f"{escape(str(outcome.get('outcome')))}"
        )


@queue.command("add")
@click.argument("task_ref", metavar="ID", shell_complete=completer("task"))
@click.option(
    "--branch", metavar="BRANCH", help="The branch to bring in (default: the task's workspace)."
)
@click.option(
    "--into", "target", metavar="BRANCH", help="The target (default: the main worktree's branch)."
)
@agent_option
@json_option
def add(
    task_ref: str, branch: str | None, target: str | None, agent: str | None, as_json: bool
) -> None:
    """Queue task ID (done or in review) to be merged into the target."""
    entry = merge_queue.add(project(), task_ref, branch=branch, target=target, agent=agent)
    if as_json:
        emit_json(entry.to_json())
        return
    info(f"queued {entry.task}: {escape(entry.branch)} -> {escape(entry.target)}")


@queue.command("remove")
@click.argument("task_ref", metavar="ID", shell_complete=completer("task"))
@json_option
def remove(task_ref: str, as_json: bool) -> None:
    """Take task ID out of the queue (nothing is merged)."""
    entry = merge_queue.remove(project(), task_ref)
    if as_json:
        emit_json(entry.to_json())
        return
    info(f"removed {entry.task} from the merge queue")


@queue.command("run")
@click.option("--limit", type=click.IntRange(1), metavar="N", help="Process at most N entries.")
@agent_option
@json_option
def run(limit: int | None, agent: str | None, as_json: bool) -> int:
    """Process the queue now: combine, run the gates again, advance the target or send back.

    Exits 3 when an entry was sent back (conflict or failing gate), 0 otherwise.
    """
    result = merge_run.run_queue(project(), agent=agent, limit=limit)
    if as_json:
        emit_json(result.to_json())
    else:
        if result.busy:
            info("another `nexus queue run` is working on the queue")
        for o in result.outcomes:
            line = f"{o.task}: {o.outcome}"
            if o.outcome == "merged":
                line += f" into {escape(o.target)} ({(o.after or '')[:12]})"
            elif o.detail:
                line += f": {escape(o.detail.splitlines()[0])}"
            click.echo(line)
        if not result.outcomes and not result.busy:
            info("the merge queue is empty")
    sent_back = any(o.outcome in ("conflict", "gate_failed") for o in result.outcomes)
    return int(ExitCode.GATE_FAILED if sent_back else ExitCode.OK)
