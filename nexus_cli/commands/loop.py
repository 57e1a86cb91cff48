"""`nexus loop`: keep an agent working on a task until its gates pass, then take the next one."""

from __future__ import annotations

import signal
import sys
from typing import TYPE_CHECKING

import click

from nexus_cli.commands.options import FiniteRange, lease_option
from nexus_cli.commands.task_common import me, open_task_store
from nexus_cli.completion import completer
from nexus_cli.errors import Terminated
from nexus_cli.jsonio import dumps_output
from nexus_cli.loop.config import load_settings
from nexus_cli.loop.runner import (
    LoopInterrupted,
    LoopOptions,
    refuse_without_agent,
    run_loop,
)
from nexus_cli.output import info, json_option
from nexus_cli.telemetry.journal import invocation
from nexus_cli.terminal import escape

if TYPE_CHECKING:
    from nexus_cli.loop.runner import Iteration
    from nexus_cli.tasks.model import Task


class LineReporter:
    """One line per iteration: live (rewritten in place) on a terminal, NDJSON with --json."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.live = not as_json and sys.stdout.isatty()

    def task_started(self, task: Task, persona: str | None) -> None:
        if not self.as_json:
            extra = f" (persona {persona})" if persona else ""
            info(f"{escape(task.id)}: {escape(task.title)}{extra}")

    def iteration_started(self, task: Task, number: int) -> None:
        if self.live:
            click.echo(f"{escape(task.id)} #{number}  running agent...", nl=False)

    def iteration_finished(self, it: Iteration) -> None:
        if self.as_json:
            click.echo(dumps_output(it.to_dict(), indent=None))
            return
        passed = sum(1 for g in it.gates if g["passed"])
        gates = f"gates {passed}/{len(it.gates)} passed" if it.gates else "gates not run"
        agent = "agent timed out" if it.agent.timed_out else f"agent exit {it.agent.exit_code}"

        line = (
            f"{escape(it.task_id)} #{it.iteration}  {agent}  {it.duration_ms / 1000:.1f}s  "
            f"{gates}  -> {it.status}"
        )
        click.echo(("\r\x1b[K" if self.live else "") + line)


@click.command()
@click.option(
    "--agent",
    "agent_cmd",
    metavar="CMD",
    help="Agent command line (default: loop.agent in your own config.yaml).",
)
@click.option("--task", "task_ref", metavar="ID", shell_complete=completer("task"))
@click.option("--max-iterations", type=click.IntRange(1), help="Per task (default: 10).")
@click.option("--max-minutes", type=FiniteRange(min=0, min_open=True), help="For the run.")
@click.option("--completion-promise", metavar="TEXT", help="Stop when the agent prints TEXT.")
@click.option(
    "--iteration-timeout",
    type=FiniteRange(min=0, min_open=True),
    metavar="SECONDS",
    help="End one agent run (its whole process group) after SECONDS.",
)
@click.option(
    "--same-failure",
    type=click.IntRange(1),
    default=3,
    show_default=True,
    metavar="N",
    help="Stop a task when the same gate fails with the same output N times in a row.",
)
@lease_option("How long a claim lasts without a heartbeat (default: tasks.lease_seconds, 900).")
@json_option
def loop(
    agent_cmd: str | None,
    task_ref: str | None,
    max_iterations: int | None,
    max_minutes: float | None,
    completion_promise: str | None,
    iteration_timeout: float | None,
    same_failure: int,
    lease_s: int | None,
    as_json: bool,
) -> int:
    """Run an agent on a task until its gates pass, then on the next ready task.

    Claims the task, pipes its `task context` (with the last failing gate output) to the agent's
    stdin, runs the gates after each agent run, and repeats. Stops at the limits, after two
    failed agent runs in a row, when one gate fails the same way --same-failure times, when the
    agent command is missing (exit 127), or when the agent prints the completion promise.
    The claim is a lease that the loop renews while it works; a dead loop's lease expires and
    the task is reclaimed by the next loop.
    """
    invocation.note(event_type="loop")
    store = open_task_store()
    settings = load_settings(store.project)
    opts = LoopOptions(
        agent=refuse_without_agent(
            agent_cmd or settings.agent, repository_agent=settings.repository_agent
        ),
        actor=me(),
        task=task_ref,
        max_iterations=max_iterations or settings.max_iterations,
        max_minutes=max_minutes,
        promise=completion_promise or None,
        lease_s=lease_s,
        iteration_timeout_s=iteration_timeout,
        same_failure_limit=same_failure,
    )
    try:
        result = run_loop(store, opts, LineReporter(as_json))
    except Terminated as exc:  # between tasks: nothing was running, nothing to note
        name = signal.Signals(exc.signum).name
        raise LoopInterrupted(f"nexus loop stopped by {name}", exit_code=128 + exc.signum) from None
    finally:
        invocation.note(event_type="loop")
    if result.waiting:
        info(
            f"left alone, gates wait for a person's approval: {', '.join(result.waiting)} "
            "(nexus task gate approve ID)"
        )
    if result.held:
        held = ", ".join(result.held)
        info(f"left alone, waiting gates not satisfied: {held} (nexus task blocked)")
    if result.reason is not None:
        info(f"stopped: {result.stopped_task} stays in progress: {result.reason}")
    elif not result.completed and not result.waiting and not result.held:
        info("nothing is ready")
    elif result.completed:
        info(f"done: {', '.join(result.completed)}")
    return result.exit_code
