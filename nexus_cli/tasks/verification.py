"""`complete` and `verify`: run every gate, record the runs, move the task only if all pass.

Gates run outside the database lock (they can take minutes): the task is first marked
``verifying``, the gates run, then the results and the next status are written in a second
transaction. There is deliberately no way to skip a gate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nexus_cli.errors import ConflictError, GateFailedError, UsageError
from nexus_cli.tasks import lifecycle
from nexus_cli.tasks.config import TaskSettings
from nexus_cli.tasks.gates import GateResult, run_gate
from nexus_cli.tasks.model import Task
from nexus_cli.tasks.store import TaskStore
from nexus_cli.telemetry import invocation


@dataclass
class Verification:
    task: Task
    results: list[GateResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failed(self) -> list[GateResult]:
        return [r for r in self.results if not r.passed]


def run_all(store: TaskStore, task: Task) -> list[GateResult]:
    results = []
    for gate in task.gates:
        result = run_gate(store.project, task, gate)
        invocation.signal(
            "gate_run",
            passed=result.passed,
            exit_code=result.exit_code,
            duration_ms=result.duration_ms,
            timed_out=result.timed_out,
        )
        results.append(result)
    return results


def _record_runs(task: Task, results: list[GateResult], actor: str, purpose: str) -> None:
    for r in results:
        details = {
            "purpose": purpose,
            "command": r.gate.command,
            "passed": r.passed,
            "exit_code": r.exit_code,
            "duration_ms": r.duration_ms,
            "timed_out": r.timed_out,
        }
        if not r.passed:
            details["output_tail"] = r.output_tail
        lifecycle.record(task, actor, "gate_run", **details)


def _store_runs(store: TaskStore, task_id: str, results: list[GateResult], actor: str) -> Task:
    with store.write():
        task = lifecycle.load(store, task_id)
        _record_runs(task, results, actor, "verify")
        store.put(task)
    return task


def verify(store: TaskStore, text: str, actor: str) -> Verification:
    """Run the gates; record the runs; never change the status."""
    task = lifecycle.load(store, text)
    if not task.gates:
        raise UsageError(f"task {task.id} has no gates to run")
    results = run_all(store, task)
    return Verification(_store_runs(store, task.id, results, actor), results)


def complete(store: TaskStore, text: str, actor: str, settings: TaskSettings) -> Verification:
    """Mark verifying, run every gate, then move to done/review (all pass) or back (exit 3)."""
    with store.write():
        task = lifecycle.load(store, text)
        if settings.require_gate and not task.gates:
            raise UsageError(
                f"task {task.id} has no gate and this project requires one",
                hint="add one with `nexus task gate add ID CMD`",
            )
        if task.status != "verifying":
            lifecycle.transition(task, "verifying", actor)
        store.put(task)
    try:
        results = run_all(store, task)
    except KeyboardInterrupt:
        _back_to_work(store, task.id, actor, "gates interrupted")
        raise
    with store.write():
        task = lifecycle.load(store, task.id)
        if task.status != "verifying":
            raise ConflictError(f"task {task.id} changed to {task.status} while its gates ran")
        _record_runs(task, results, actor, "complete")
        verification = Verification(task, results)
        if verification.passed:
            lifecycle.transition(task, "review" if settings.require_review else "done", actor)
        else:
            lifecycle.transition(task, "in_progress", actor, "gates failed")
        store.put(task)
    return verification


def _back_to_work(store: TaskStore, task_id: str, actor: str, reason: str) -> None:
    with store.write():
        task = lifecycle.load(store, task_id)
        if task.status == "verifying":
            lifecycle.transition(task, "in_progress", actor, reason)
            store.put(task)


def failure(verification: Verification, *, moved: bool) -> GateFailedError:
    """The exit-3 error for a verification whose gates did not all pass."""
    task = verification.task
    names = ", ".join(f"`{r.gate.command}` (exit {r.exit_code})" for r in verification.failed)
    where = f"task {task.id} stays in_progress: " if moved else ""
    return GateFailedError(
        f"{where}gate failed: {names}",
        hint=f"see the output above or `nexus task context {task.id}`",
    )
