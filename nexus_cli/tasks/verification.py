"""`complete` and `verify`: run every gate, record the runs, move the task only if all pass.

Gates run outside the database lock (they can take minutes): the task is first marked
``verifying``, the gates run, then the results and the next status are written in a second
transaction. There is deliberately no way to skip a gate: a task without gates completes only
if it was created with ``--no-gates`` (recorded in its history).
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass, field
from typing import Any

from nexus_cli import owner, ownership
from nexus_cli.errors import Cancelled, ConflictError, GateFailedError, Terminated, UsageError
from nexus_cli.proc import sigterm_raises
from nexus_cli.tasks import approvals, lifecycle, loading, receipts, waits
from nexus_cli.tasks.config import TaskSettings
from nexus_cli.tasks.gates import GateResult, end_left_running, run_gate, waited
from nexus_cli.tasks.model import Task
from nexus_cli.tasks.store import TaskStore
from nexus_cli.telemetry.journal import invocation
from nexus_cli.terminal import escape


@dataclass
class Verification:
    task: Task
    results: list[GateResult] = field(default_factory=list)
    taken_over_from: dict[str, Any] | None = None
    ended_left_running: int = 0  # processes the taken-over run's gates had left running

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failed(self) -> list[GateResult]:
        return [r for r in self.results if not r.passed]

    def to_json(self) -> dict[str, Any]:
        """``task verify|complete --json`` and the MCP tools' result (also when a gate failed).

        The whole task stays in this v1 shape (docs/json.md: removing keys needs schema v2)."""
        return {
            "task": self.task.to_dict(),
            "passed": self.passed,
            "gates": [r.to_dict() for r in self.results],
        }


def run_all(store: TaskStore, task: Task, owner_token: str | None = None) -> list[GateResult]:
    """Every gate's result, in order: command gates run (host gates marked as the run of
    ``owner_token``, when given), waiting gates are evaluated (nothing runs for them, and they
    get no receipt and no ``gate_run`` entry)."""
    checker = waits.Checker(store.project, store.get)
    results = []
    for gate in task.gates:
        if gate.wait is not None:
            state = checker.evaluate(task, gate)
            results.append(waited(gate, state.satisfied, state.reason))
            continue
        result = run_gate(store.project, task, gate, owner_token)
        invocation.signal(
            "gate_run",
            passed=result.passed,
            exit_code=result.exit_code,
            duration_ms=result.duration_ms,
            timed_out=result.timed_out,
        )
        results.append(result)
    ran = [r for r in results if r.gate.wait is None]
    receipts.attach(store.project, task, ran, host=host_tag())
    return results


def _record_runs(task: Task, results: list[GateResult], actor: str, purpose: str) -> None:
    for r in results:
        if r.gate.wait is not None:
            continue  # nothing ran: the transition's reason says what it waits on
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
            if r.tree:
                details["tree"] = r.tree
        if r.receipt is not None:
            details["receipt"] = r.receipt
        lifecycle.record(task, actor, "gate_run", **details)


def _store_runs(store: TaskStore, task_id: str, results: list[GateResult], actor: str) -> Task:
    with store.write():
        task = loading.load(store, task_id)
        _record_runs(task, results, actor, "verify")
        store.put(task)
    return task


def approved_task(store: TaskStore, text: str) -> Task:
    """The task ``text`` names, as ``tasks.jsonl`` has it now (an edit of the file is imported
    and its gate changes recorded first); :class:`GateNeedsApprovalError` (exit 5, nothing ran)
    if a gate waits for a person's approval."""
    store.sync()
    task = loading.load(store, text)
    waiting = approvals.pending(store.project, task)
    if waiting:
        raise approvals.needs_approval(task, waiting)
    return task


def verify(store: TaskStore, text: str, actor: str) -> Verification:
    """Run the gates; record the runs; never change the status."""
    task = approved_task(store, text)
    if not task.gates:
        raise UsageError(f"task {task.id} has no gates to run")
    results = run_all(store, task)
    return Verification(_store_runs(store, task.id, results, actor), results)


def complete(store: TaskStore, text: str, actor: str, settings: TaskSettings) -> Verification:
    """Mark verifying, run every gate, then move to done/review (all pass) or back (exit 3).

    Marking ``verifying`` is the lock: it happens in one ``BEGIN IMMEDIATE`` transaction that
    refuses a task another live operation is verifying, so the gates of a task run once at a
    time. The owner is this operation (:mod:`nexus_cli.owner`: host, pid, process start, random
    token), not this process: two calls in one ``nexus mcp`` are two owners. A ``verifying``
    left by an operation that is gone (killed, or its pid reused) is taken over.
    """
    with ownership.operation() as me:
        return _complete_as(me, store, text, actor, settings)


def _complete_as(
    me: owner.Owner, store: TaskStore, text: str, actor: str, settings: TaskSettings
) -> Verification:
    taken_over: dict[str, Any] | None = None
    with store.write():  # imports an edited tasks.jsonl first, its gate changes recorded
        task = loading.load(store, text)
        lifecycle.require_own(task, actor, "complete")
        lifecycle.require_children_finished(store, task)
        _require_gates(task, settings)
        waiting = approvals.pending(store.project, task)
        if not waiting:
            taken_over = _claim_verification(task, actor, me)
            store.put(task)
    if waiting:  # raised once the import (and its history entry) is committed
        raise approvals.needs_approval(task, waiting)
    ended = _end_left_running(task.id, taken_over)
    try:
        with sigterm_raises():
            results = run_all(store, task, me.token)
    except BaseException as exc:  # interrupted, cancelled or refused: never left verifying
        _back_to_work(store, task.id, actor, f"gates {_why_stopped(exc)}", me)
        raise
    with store.write():
        task = loading.load(store, task.id)
        if task.status != "verifying" or _verifying_owner(task) != me:
            raise ConflictError(f"task {task.id} changed to {task.status} while its gates ran")
        _record_runs(task, results, actor, "complete")
        verification = Verification(task, results, taken_over, ended)
        changed = task.gates != [r.gate for r in results]
        if changed:  # what passed is not what the task now asks: it proves nothing
            lifecycle.transition(task, "in_progress", actor, "gates changed while they ran")
        elif verification.passed:
            reason = None if task.gates else "no gates (--no-gates)"
            done = "review" if settings.require_review else "done"
            lifecycle.transition(task, done, actor, reason)
        else:
            lifecycle.transition(task, "in_progress", actor, _failed_reason(verification))
        store.put(task)
    if changed:
        raise ConflictError(
            f"task {task.id} stays in_progress: its gates changed while they ran",
            hint=f"run `nexus task complete {task.id}` again",
        )
    return verification


def _failed_reason(verification: Verification) -> str:
    """``gates failed``, or what the only unsatisfied gates wait on."""
    failed = verification.failed
    if all(r.gate.wait is not None for r in failed):
        return "waiting: " + "; ".join(f"{r.gate.command} ({r.output_tail})" for r in failed)
    return "gates failed"


def _why_stopped(exc: BaseException) -> str:
    if isinstance(exc, Cancelled):
        return exc.reason
    if isinstance(exc, Terminated):
        return "hung up" if exc.signum == signal.SIGHUP else "terminated"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return "could not run"


def _require_gates(task: Task, settings: TaskSettings) -> None:
    if task.gates:
        return
    if settings.require_gate:
        raise UsageError(
            f"task {task.id} has no gate and this project requires one",
            hint="add one with `nexus task gate add ID CMD`",
        )
    if not task.no_gates:
        raise UsageError(
            f"task {task.id} has no gate: gates cannot be skipped",
            hint=f"add one with `nexus task gate add {task.id} CMD`",
        )


def _claim_verification(task: Task, actor: str, me: owner.Owner) -> dict[str, Any] | None:
    """Move ``task`` to verifying for operation ``me``; the stale owner's record if taken over."""
    stale: dict[str, Any] | None = None
    if task.status == "verifying":
        holder = verifying_owner(task)
        if holder is not None and owner_alive(holder):
            raise ConflictError(
                f"task {task.id} is already verifying (pid {holder.get('pid')}, "
                f"by {escape(str(holder.get('by')), newlines=False)}); wait for it to finish"
            )
        stale = holder or {}
        lifecycle.record(task, actor, "verification_taken_over", previous=stale or None)
        task.status = "in_progress"  # the stale run is abandoned; move again, recorded
    lifecycle.transition(task, "verifying", actor, **me.to_json())
    return stale


def _end_left_running(task_id: str, stale: dict[str, Any] | None) -> int:
    """A taken-over run killed outright may have left its gate running (a test suite still
    writing its files): end it before the gates run again, so that the two never run at once.
    Only a run of this host, whose token is known, can be found."""
    if not stale or stale.get("host") != host_tag() or not isinstance(stale.get("token"), str):
        return 0
    return end_left_running(task_id, stale["token"])


def host_tag() -> str:
    """This machine, as recorded in the shared history: a hash, not the host name itself."""
    return ownership.host_tag()


def _last_verifying(task: Task) -> dict[str, Any] | None:
    for entry in reversed(task.history):
        if entry.get("action") == "transition" and entry.get("to") == "verifying":
            found: dict[str, Any] = entry
            return found
    return None


def _verifying_owner(task: Task) -> owner.Owner | None:
    entry = _last_verifying(task)
    return None if entry is None else owner.parse(entry)


def verifying_owner(task: Task) -> dict[str, Any] | None:
    """The owner (pid, host, and start and token when recorded) of the last move to verifying."""
    entry = _last_verifying(task)
    if entry is None:
        return None
    pid, host = entry.get("pid"), entry.get("host")
    if not (type(pid) is int and isinstance(host, str)):
        return None
    found = {"pid": pid, "host": host, "by": entry.get("by")}
    recorded = owner.parse(entry)
    if recorded is not None:
        found.update(start=recorded.start, token=recorded.token)
    return found


def owner_alive(holder: dict[str, Any]) -> bool:
    """Whether the recorded verifying operation still runs (only knowable on this host)."""
    recorded = owner.parse(holder)
    if recorded is not None:
        return ownership.alive(recorded)
    # Recorded before owners had a start and a token: the pid alone, if it runs Nexus.
    pid = int(holder["pid"])
    if holder.get("host") != host_tag() or pid <= 0 or pid == os.getpid():
        return False
    if ownership.process_start(pid) is None:
        return False
    try:  # the pid may have been reused by an unrelated program since
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"nexus" in fh.read()
    except OSError:
        return True


def _back_to_work(store: TaskStore, task_id: str, actor: str, reason: str, me: owner.Owner) -> None:
    """Restore a task this operation left ``verifying`` (never one another operation took)."""
    with store.write():
        task = loading.load(store, task_id)
        if task.status == "verifying" and _verifying_owner(task) == me:
            lifecycle.transition(task, "in_progress", actor, reason)
            store.put(task)


def failure(verification: Verification, *, moved: bool) -> GateFailedError:
    """The exit-3 error for a verification whose gates did not all pass."""
    task = verification.task

    names = ", ".join(
        f"`{escape(r.gate.command, newlines=False)}` "
        + (
            f"({escape(r.output_tail, newlines=False)})"
            if r.gate.wait is not None
            else f"(timed out after {r.gate.timeout_s}s)"
            if r.timed_out
            else f"(exit {r.exit_code})"
        )
        for r in verification.failed
    )
    where = f"task {task.id} stays in_progress: " if moved else ""
    what = "it waits" if all(r.gate.wait for r in verification.failed) else "gate failed"
    return GateFailedError(
        f"{where}{what}: {names}",
        hint=f"see the output above or `nexus task context {task.id}`",
    )
