"""`nexus loop`: claim a task, run the agent, run the gates, repeat until they pass; next task.

Gates are the backpressure: the agent's own word is never enough. Each iteration is recorded in
the task's history (``loop_iteration``) and as a telemetry event of type ``loop``. Every change
to a task goes through :mod:`nexus_cli.tasks.actions`, like the CLI's and the MCP tools'.
"""

from __future__ import annotations

import os
import shlex
import signal
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from nexus_cli import owner, ownership
from nexus_cli.errors import (
    ConflictError,
    ExitCode,
    GateNeedsApprovalError,
    NexusError,
    UsageError,
    interrupting_signal,
)
from nexus_cli.loop import pick
from nexus_cli.loop.agent import AgentRun, run_agent
from nexus_cli.loop.keeper import LeaseKeeper
from nexus_cli.plural import plural
from nexus_cli.tasks import actions, verification
from nexus_cli.tasks.config import load_settings
from nexus_cli.tasks.model import Task
from nexus_cli.tasks.provenance import VIA_IMPORT
from nexus_cli.tasks.store import TaskStore
from nexus_cli.telemetry.journal import invocation, recorder
from nexus_cli.terminal import escape

# One agent run (one iteration) ends after this even without --max-minutes: an agent that hangs
# must not hold the task claimed forever (docs/security.md lists the deadlines).
AGENT_RUN_S = 4 * 3600.0
AGENT_NOT_FOUND = 127  # what the shell exits with when the agent command does not exist


class LoopInterrupted(NexusError):
    category = "interrupted"

    def __init__(self, message: str, *, exit_code: int) -> None:
        super().__init__(message, hint="run `nexus loop --task ID` again to resume it")
        self.exit_code = exit_code


@dataclass(frozen=True)
class LoopOptions:
    agent: str
    actor: str
    task: str | None = None
    max_iterations: int = 10
    max_minutes: float | None = None
    promise: str | None = None
    lease_s: int | None = None  # default: tasks.lease_seconds
    iteration_timeout_s: float | None = None  # one agent run; default AGENT_RUN_S
    same_failure_limit: int = 3  # the circuit breaker: one gate, one output, N times in a row


class WaitingGates(Exception):
    """An iteration whose only unsatisfied gates wait (:mod:`nexus_cli.tasks.waits`): another
    agent run cannot satisfy them, so the loop leaves the task."""

    def __init__(self, on: str) -> None:
        super().__init__(on)
        self.on = on


@dataclass
class Iteration:
    task_id: str
    title: str
    iteration: int
    agent: AgentRun
    gates: list[dict[str, Any]]
    status: str
    log: str
    duration_ms: int
    failure: str | None = None  # the first failing gate and its output (the circuit breaker)
    waiting: str | None = None  # what the only unsatisfied gates wait on (the agent cannot help)

    @property
    def passed(self) -> bool:
        return bool(self.gates) and all(g["passed"] for g in self.gates)

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task_id,
            "title": self.title,
            "iteration": self.iteration,
            "agent_exit_code": self.agent.exit_code,
            "agent_timed_out": self.agent.timed_out,
            "promise_seen": self.agent.promise_seen,
            "duration_ms": self.duration_ms,
            "gates": self.gates,
            "passed": self.passed,
            "status": self.status,
            "log": self.log,
        }


@dataclass
class LoopResult:
    completed: list[str] = field(default_factory=list)
    stopped_task: str | None = None
    reason: str | None = None
    # Tasks left alone because a gate waits for a person's approval (noted on each task).
    waiting: list[str] = field(default_factory=list)
    # Tasks left alone because a waiting gate is not satisfied (noted on each task).
    held: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return ExitCode.OK if self.reason is None else ExitCode.ERROR


class Reporter(Protocol):
    def task_started(self, task: Task, persona: str | None) -> None: ...
    def iteration_started(self, task: Task, number: int) -> None: ...
    def iteration_finished(self, it: Iteration) -> None: ...


def run_loop(store: TaskStore, opts: LoopOptions, reporter: Reporter) -> LoopResult:
    """Work through the given task, or every ready one, until done or a limit stops the loop."""
    with ownership.operation() as holder:
        return _run(store, opts, reporter, holder)


def _run(
    store: TaskStore, opts: LoopOptions, reporter: Reporter, holder: owner.Owner
) -> LoopResult:
    deadline = None if opts.max_minutes is None else time.monotonic() + opts.max_minutes * 60
    lease_s = opts.lease_s or load_settings(store.project).lease_seconds
    result = LoopResult()
    while True:
        task = pick.next_task(
            store,
            opts.actor,
            opts.task,
            first=not result.completed,
            waiting=result.waiting,
            skip=result.held,
            holder=holder,
            lease_s=lease_s,
        )
        if task is None:
            return result
        reporter.task_started(task, pick.enter_stage(store, task))
        try:
            with LeaseKeeper(store.project, task.id, opts.actor, holder, lease_s) as keeper:
                reason = _work_on(store, task, opts, deadline, reporter, keeper)
        except GateNeedsApprovalError:
            pick.note_waiting(store, task.id, opts.actor)
            if opts.task is not None:
                raise  # exit 5: the one task asked for cannot be completed now
            result.waiting.append(task.id)
            continue  # unattended: the next ready task
        except WaitingGates as exc:  # its commands pass; a person, a moment or a task remains
            _note(store, task.id, opts.actor, f"{pick.LEFT_NOTE}waiting on {exc.on}")
            if opts.task is not None:
                result.stopped_task, result.reason = task.id, f"it waits on {exc.on}"
                return result
            result.held.append(task.id)
            continue  # unattended: the next ready task
        if reason is not None:
            _note(store, task.id, opts.actor, f"{pick.STOPPED_NOTE}{reason}")
            result.stopped_task, result.reason = task.id, reason
            return result
        result.completed.append(task.id)
        if opts.task is not None:
            return result


def _work_on(
    store: TaskStore,
    task: Task,
    opts: LoopOptions,
    deadline: float | None,
    reporter: Reporter,
    keeper: LeaseKeeper,
) -> str | None:
    """Iterate on ``task``; None when its gates passed, else why the loop stops.

    Iteration numbers continue after the ones already in the task's history (a resumed loop
    neither restarts at 1 nor overwrites the earlier logs)."""
    failures_in_row = 0
    same_failure: tuple[str, int] = ("", 0)  # the last failing gate + output, and how often
    first = 1 + sum(1 for h in task.history if h.get("action") == "loop_iteration")
    number = first - 1
    try:
        for number in range(first, first + opts.max_iterations):
            if deadline is not None and time.monotonic() >= deadline:
                return f"time limit of {opts.max_minutes:g} minutes reached"
            final = first + opts.max_iterations - 1  # the prompt names this run's last
            it = _iterate(store, task.id, number, final, opts, deadline, reporter)
            if keeper.lost is not None:
                return f"the task's lease was lost ({keeper.lost})"
            if not it.agent.started or it.agent.exit_code == AGENT_NOT_FOUND:
                return (
                    f"the agent command was not found (exit {AGENT_NOT_FOUND}); "
                    f"see {it.log} and check --agent"
                )
            if it.passed:
                return None
            if it.waiting is not None:
                raise WaitingGates(it.waiting)
            if it.agent.timed_out:
                return _timeout_reason(opts)
            if it.agent.promise_seen:
                return "the agent printed the completion promise but the gates failed"
            failures_in_row = failures_in_row + 1 if it.agent.exit_code != 0 else 0
            if failures_in_row >= 2:
                return "the agent exited non-zero twice in a row"
            if it.failure is not None:
                count = same_failure[1] + 1 if it.failure == same_failure[0] else 1
                same_failure = (it.failure, count)
                last = number == first + opts.max_iterations - 1  # that limit says it already
                if count >= opts.same_failure_limit and not last:
                    gate = it.failure.split("\0", 1)[0]
                    return (
                        f"the gate {gate!r} failed with the same output "
                        f"{plural(count, 'time')} in a row"
                    )
    except KeyboardInterrupt as exc:
        raise _interrupted(store, task.id, opts.actor, number, exc) from None
    return f"{plural(opts.max_iterations, 'iteration')} without passing gates"


def _timeout_reason(opts: LoopOptions) -> str:
    if opts.iteration_timeout_s is not None:
        return f"an agent run passed the iteration timeout of {opts.iteration_timeout_s:g} s"
    if opts.max_minutes is None:
        return f"the agent run passed its limit of {AGENT_RUN_S / 60:g} minutes"
    return f"time limit of {opts.max_minutes:g} minutes reached during the agent run"


def _interrupted(
    store: TaskStore, task_id: str, actor: str, number: int, exc: BaseException
) -> LoopInterrupted:
    signum = interrupting_signal(exc)
    name = signal.Signals(signum).name
    text = f"nexus loop interrupted by {name} in iteration {number}; the task stays claimed"
    _note(store, task_id, actor, text)
    return LoopInterrupted(f"{text} ({task_id})", exit_code=128 + signum)


def _note(store: TaskStore, task_id: str, actor: str, text: str) -> None:
    actions.change(store.project, task_id, "note", agent=actor, text=text)


def _agent_time(deadline: float | None, iteration_s: float | None = None) -> float:
    """How long one agent run may take: :data:`AGENT_RUN_S` (or the iteration timeout), less if
    the loop's time ends first."""
    limit = AGENT_RUN_S if iteration_s is None else min(iteration_s, AGENT_RUN_S)
    if deadline is None:
        return limit
    return max(min(deadline - time.monotonic(), limit), 1.0)


def _iterate(
    store: TaskStore,
    task_id: str,
    number: int,
    final: int,
    opts: LoopOptions,
    deadline: float | None,
    reporter: Reporter,
) -> Iteration:
    started = time.monotonic()
    task = verification.approved_task(store, task_id)  # an agent never works for a waiting gate
    reporter.iteration_started(task, number)
    log = store.project.state_dir / "loop" / f"{task.id}-{number}.log"
    run = run_agent(
        opts.agent,
        pick.prompt_for(store, task, number, final, opts.promise),
        cwd=pick.work_dir(store, task),
        env=_agent_env(task, number, opts.actor),
        log_path=log,
        log_root=store.project.root,
        promise=opts.promise,
        timeout_s=_agent_time(deadline, opts.iteration_timeout_s),
    )
    gates: list[dict[str, Any]] = []
    failure: str | None = None
    waits_on: str | None = None
    status = task.status
    waiting: GateNeedsApprovalError | None = None
    moved = _moved_meanwhile(store, task)
    # A missing agent (127) did no work: its gates must not complete the task behind its back.
    if moved is None and not run.timed_out and run.started and run.exit_code != AGENT_NOT_FOUND:
        try:
            verified = actions.complete(store.project, task.id, agent=opts.actor)
        except GateNeedsApprovalError as exc:  # the gates changed during the agent's run
            waiting = exc
        else:
            status = verified.task.status
            gates = [
                {"command": r.gate.command, "passed": r.passed, "exit_code": r.exit_code}
                for r in verified.results
            ]
            failed = [r for r in verified.results if not r.passed]
            if failed:
                failure = f"{failed[0].gate.command}\0{failed[0].output_tail}"
            if failed and all(r.gate.wait is not None for r in failed):
                waits_on = "; ".join(f"{r.gate.command} ({r.output_tail})" for r in failed)
    ms = int((time.monotonic() - started) * 1000)
    it = Iteration(task.id, task.title, number, run, gates, status, str(log), ms, failure, waits_on)
    _record(store, it, opts.actor)
    reporter.iteration_finished(it)
    if waiting is not None:
        raise waiting
    if moved is not None:
        raise moved
    return it


def _moved_meanwhile(store: TaskStore, task: Task) -> ConflictError | None:
    """The error that stops the loop when the task left ``task.status`` during the agent's run
    other than through its gates (the agent, or a person, changed it: ``nexus task cancel``, or
    a status written into ``tasks.jsonl`` by hand, which its history records as an import)."""
    store.sync()
    now = store.get(task.id)
    if now is None or now.status == task.status:
        return None
    moves = [e for e in now.history if e.get("action") == "transition"]
    last: dict[str, Any] = moves[-1] if moves else {}
    how = (
        "written into tasks.jsonl, not through its gates"
        if last.get("via") == VIA_IMPORT
        else f"by {escape(str(last.get('by', '?')), newlines=False)}"
    )
    return ConflictError(
        f"task {task.id} became {now.status} during the agent's run ({how}); the loop stops",
        hint=f"see `nexus task history {task.id}`; `nexus task reopen {task.id}` to work on it again",
    )


def _agent_env(task: Task, number: int, actor: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(NEXUS_TASK_ID=task.id, NEXUS_LOOP_ITERATION=str(number), NEXUS_AGENT=actor)
    env["OTEL_RESOURCE_ATTRIBUTES"] = resource_attributes(
        env.get("OTEL_RESOURCE_ATTRIBUTES"), task.id
    )
    env.pop("NEXUS_WORKSPACE", None)
    if task.workspace:
        env["NEXUS_WORKSPACE"] = task.workspace
    return env


def resource_attributes(current: str | None, task_id: str) -> str:
    """``OTEL_RESOURCE_ATTRIBUTES`` for the agent: the person's own attributes, and
    ``nexus.task.id``, so that an agent exporting OpenTelemetry (Claude Code) names its task to
    ``nexus telemetry receive`` (docs/telemetry.md)."""
    kept = [
        item
        for item in (current or "").split(",")
        if item.strip() and item.split("=", 1)[0].strip() != "nexus.task.id"
    ]
    return ",".join([*kept, f"nexus.task.id={task_id}"])


def _record(store: TaskStore, it: Iteration, actor: str) -> None:
    """The iteration in the task's history, and as a ``loop`` telemetry event."""
    actions.record_loop_iteration(
        store.project,
        it.task_id,
        agent=actor,
        iteration=it.iteration,
        agent_exit_code=it.agent.exit_code,
        duration_ms=it.duration_ms,
        gates=it.gates,
        passed=it.passed,
    )
    event = invocation.Invocation(["loop"])
    event.command_path = ["loop", "iteration"]  # apart from the `loop` command's own event
    event.fields.update(event_type="loop", task=it.task_id)
    if not it.passed:
        event.fields["error_category"] = "gate_failed"
    event.metrics.update(
        iteration=it.iteration,
        agent_exit_code=it.agent.exit_code,
        gates_passed=sum(1 for g in it.gates if g["passed"]),
        gates_failed=sum(1 for g in it.gates if not g["passed"]),
    )
    code = ExitCode.OK if it.passed else ExitCode.GATE_FAILED
    recorder.record_event(event, int(code), it.duration_ms)


def refuse_without_agent(agent: str | None, *, repository_agent: str | None = None) -> str:
    """``agent``, or a usage error. ``repository_agent`` (the project's ``loop.agent``) is never
    run on its own: the error shows it, escaped, so that you can pass it after reading it."""
    if agent is None or not agent.strip():
        if repository_agent is not None:
            raise UsageError(
                "no agent command: loop.agent in .nexus/config.yaml is repository content and "
                "does not run on its own",
                hint=f"after reading it, pass --agent {shlex.quote(repository_agent)} "
                "(or set loop.agent in your own ~/.config/nexus/config.yaml)",
            )
        raise UsageError(
            "no agent command: pass --agent CMD or set loop.agent in your own "
            "~/.config/nexus/config.yaml",
            hint="e.g. --agent 'claude -p' (the task context arrives on its stdin)",
        )
    return agent
