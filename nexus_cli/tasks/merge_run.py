"""Running the merge queue: one entry at a time, gates again on the combined tree, then the target.

For the entry at the head of :mod:`nexus_cli.tasks.merge_queue`:

1. a scratch worktree (in a temporary folder) is made at the branch's tip and rebased onto the
   target (``queue.strategy: rebase``, the default), or made at the target and the branch merged
   into it (``merge``); a conflict is aborted and the task goes back;
2. the task's gates run in that scratch tree: the combined result, not the branch alone. Only
   gates a person approved run (:mod:`nexus_cli.tasks.approvals`); a gate waiting for approval
   leaves the entry queued; a failing gate sends the task back with its output;
3. the target is advanced to exactly the commit that passed: ``git update-ref NEW OLD`` where the
   target is checked out nowhere, ``git merge --ff-only NEW`` in the worktree that has it checked
   out. If the target moved meanwhile (a person pushed, another fleet merged), nothing is lost:
   the entry is tried again on the new target.

"Back" means the task becomes ``open`` again with no assignee (``queue.on_failure: open``, the
default: the next agent takes it), or ``rejected`` (a person looks), with a note holding the
conflict or the gate's output and a ``merge_queue`` history entry. The scratch worktree is always
removed; the target is never half-merged.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexus_cli import fs, git, proc
from nexus_cli.errors import ConflictError, GateNeedsApprovalError
from nexus_cli.project import Project
from nexus_cli.tasks import approvals, lifecycle, loading
from nexus_cli.tasks.gates import GateResult, run_on_host
from nexus_cli.tasks.identity import current_agent
from nexus_cli.tasks.listing import opened
from nexus_cli.tasks.merge_queue import Entry, QueueSettings, load_settings, updating
from nexus_cli.tasks.model import TRANSITIONS, Task, now_iso
from nexus_cli.telemetry.journal import invocation
from nexus_cli.workspaces.git_worktrees import list_worktrees

RUN_LOCK = "merge-queue.run.lock"
MOVED_TRIES = 3  # the target moved under us this often in a row: leave the entry for later


@dataclass
class Outcome:
    task: str
    outcome: str  # merged | conflict | gate_failed | waiting | target_moved | blocked
    target: str
    before: str | None = None
    after: str | None = None
    detail: str = ""
    gates: list[dict[str, Any]] = field(default_factory=list)
    at: str = field(default_factory=now_iso)

    def to_json(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "outcome": self.outcome,
            "target": self.target,
            "before": self.before,
            "after": self.after,
            "detail": self.detail,
            "gates": list(self.gates),
            "at": self.at,
        }


@dataclass
class QueueRun:
    outcomes: list[Outcome] = field(default_factory=list)
    busy: bool = False  # another runner holds the queue

    def to_json(self) -> dict[str, Any]:
        """What ``nexus queue run --json`` prints."""
        return {"busy": self.busy, "outcomes": [o.to_json() for o in self.outcomes]}


class _Back(Exception):
    """The entry failed: its task goes back (``outcome``, ``detail``, the gate runs)."""

    def __init__(self, outcome: str, detail: str, gates: list[GateResult] | None = None) -> None:
        super().__init__(detail)
        self.outcome, self.detail, self.gates = outcome, detail, gates or []


def run_queue(project: Project, *, agent: str | None = None, limit: int | None = None) -> QueueRun:
    """Work through the queue (at most ``limit`` entries); ``busy`` if another runner has it."""
    actor = current_agent(agent)
    settings = load_settings(project)
    result = QueueRun()
    lock = project.state_dir / RUN_LOCK
    try:
        with fs.locked(lock, blocking=False, root=project.root):
            skipped: set[str] = set()
            while limit is None or len(result.outcomes) < limit:
                entry = _head(project, skipped)
                if entry is None:
                    break
                outcome = _process(project, entry, settings, actor)
                result.outcomes.append(outcome)
                if outcome.outcome in ("waiting", "target_moved", "blocked"):
                    skipped.add(entry.task)  # stays queued; the next entry gets its turn
    except ConflictError:
        result.busy = True
    return result


def _head(project: Project, skipped: set[str]) -> Entry | None:
    with updating(project) as state:
        return next((e for e in state.entries if e.task not in skipped), None)


def _process(project: Project, entry: Entry, settings: QueueSettings, actor: str) -> Outcome:
    with opened(project) as store:
        task = loading.load(store, entry.task)
    for _ in range(MOVED_TRIES):
        before = git.branch_commit(project.root, entry.target)
        tip = git.branch_commit(project.root, entry.branch)
        if before is None or tip is None:
            missing = entry.target if before is None else entry.branch
            return _finish(
                project, entry, task, actor, settings, _Back("blocked", f"no branch {missing!r}")
            )
        try:
            after, gates = _combine_and_check(project, task, entry, before, tip, settings.strategy)
        except _Back as back:
            return _finish(project, entry, task, actor, settings, back, before=before)
        except GateNeedsApprovalError as exc:
            outcome = Outcome(entry.task, "waiting", entry.target, before, None, exc.message)
            _remember(project, outcome, drop=False)
            return outcome
        moved = _advance(project, entry.target, before, after)
        if moved is None:
            outcome = Outcome(entry.task, "merged", entry.target, before, after, "", gates)
            _merged(project, entry, task, actor, outcome)
            return outcome
        if moved != "moved":
            outcome = Outcome(entry.task, "blocked", entry.target, before, None, moved)
            _remember(project, outcome, drop=False)
            return outcome
    outcome = Outcome(
        entry.task, "target_moved", entry.target, None, None, "the target kept moving"
    )
    _remember(project, outcome, drop=False)
    return outcome


def _combine_and_check(
    project: Project, task: Task, entry: Entry, before: str, tip: str, strategy: str
) -> tuple[str, list[dict[str, Any]]]:
    """The combined commit and its gate runs; :class:`_Back` on a conflict or a failing gate."""
    waiting = approvals.pending(project, task)
    if waiting:
        raise approvals.needs_approval(task, waiting)
    root = project.root
    with tempfile.TemporaryDirectory(prefix="nexus-queue-") as scratch:
        tree = Path(scratch) / "tree"
        start = tip if strategy == "rebase" else before
        git.run(root, "worktree", "add", "--quiet", "--detach", str(tree), start)
        try:
            _combine(project, tree, entry, before, tip, strategy)
            combined = _in(project, tree, "rev-parse", "HEAD").stdout.strip()
            results = [_run_gate(gate, tree) for gate in task.gates]
        finally:
            git.run(root, "worktree", "remove", "--force", str(tree), check=False)
            git.worktree_prune(root)
    failed = [r for r in results if not r.passed]
    if failed:
        first = failed[0]
        detail = f"gate `{first.gate.command}` failed (exit {first.exit_code}) on the combined tree"
        raise _Back("gate_failed", f"{detail}:\n{first.output_tail}", results)
    return combined, [_gate_json(r) for r in results]


def _combine(
    project: Project, tree: Path, entry: Entry, before: str, tip: str, strategy: str
) -> None:
    if strategy == "rebase":
        done = _in(project, tree, "rebase", "--no-autostash", before)
        abort = ("rebase", "--abort")
    else:
        message = git.merge_message(entry.branch, entry.target)
        done = _in(project, tree, "merge", "--no-edit", "--no-ff", "-m", message, tip)
        abort = ("merge", "--abort")
    if done.returncode == 0:
        return
    files = [
        f
        for f in _in(project, tree, "diff", "--name-only", "--diff-filter=U").stdout.splitlines()
        if f
    ]
    _in(project, tree, *abort)
    where = ", ".join(files[:10]) or (done.stderr or done.stdout).strip()[-300:] or "the history"
    raise _Back("conflict", f"{entry.branch!r} conflicts with {entry.target!r} in {where}")


def _run_gate(gate: Any, tree: Path) -> GateResult:
    if gate.service:  # the service's container sees the workspace, not this combined tree
        return GateResult(
            gate,
            False,
            -1,
            0,
            False,
            f"gate runs in service {gate.service!r}, which cannot see the combined tree; "
            "make it a host gate to use the merge queue",
            str(tree),
            started=False,
        )
    return run_on_host(gate, tree)


def _gate_json(r: GateResult) -> dict[str, Any]:
    return {
        "command": r.gate.command,
        "passed": r.passed,
        "exit_code": r.exit_code,
        "duration_ms": r.duration_ms,
    }


def _in(project: Project, tree: Path, *args: str) -> proc.Completed:
    return git.run(tree, *args, check=False, checkout=git.checkout_of(project.git_common_dir, tree))


def _advance(project: Project, target: str, before: str, after: str) -> str | None:
    """Move ``target`` from ``before`` to ``after``: None when done, ``"moved"`` when the target
    changed meanwhile, else why it cannot be moved now."""
    checked_out = next(
        (i.path for i in list_worktrees(project).values() if i.branch == target and not i.prunable),
        None,
    )
    if checked_out is None:
        done = git.run(
            project.root, "update-ref", f"refs/heads/{target}", after, before, check=False
        )
        return None if done.returncode == 0 else "moved"
    checkout = git.checkout_of(project.git_common_dir, checked_out)
    changed = [line for line in git.status_porcelain(checkout) if not line.startswith("?? ")]
    if changed:
        return f"{target!r} is checked out in {checked_out} with uncommitted changes"
    if git.branch_commit(project.root, target) != before:
        return "moved"
    done = _in(project, checked_out, "merge", "--ff-only", "--quiet", after)
    if done.returncode != 0:
        return (
            "moved"
            if git.branch_commit(project.root, target) != before
            else (
                f"git merge --ff-only in {checked_out} failed: {(done.stderr or done.stdout).strip()[-200:]}"
            )
        )
    return None


def _merged(project: Project, entry: Entry, task: Task, actor: str, outcome: Outcome) -> None:
    with opened(project) as store, store.write():
        current = loading.load(store, task.id)
        lifecycle.record(
            current,
            actor,
            "merge_queue",
            outcome="merged",
            target=entry.target,
            before=outcome.before,
            after=outcome.after,
            gates=outcome.gates,
        )
        store.put(current)
    _remember(project, outcome, drop=True)


def _finish(
    project: Project,
    entry: Entry,
    task: Task,
    actor: str,
    settings: QueueSettings,
    back: _Back,
    *,
    before: str | None = None,
) -> Outcome:
    """Send the task back (a note with the output, a history entry); drop the entry."""
    outcome = Outcome(
        entry.task,
        back.outcome,
        entry.target,
        before,
        None,
        back.detail,
        [_gate_json(r) for r in back.gates],
    )
    with opened(project) as store, store.write():
        current = loading.load(store, task.id)
        for r in back.gates:
            details: dict[str, Any] = {
                "purpose": "merge_queue",
                "command": r.gate.command,
                "passed": r.passed,
                "exit_code": r.exit_code,
                "duration_ms": r.duration_ms,
                "timed_out": r.timed_out,
            }
            if not r.passed:
                details["output_tail"] = r.output_tail
            lifecycle.record(current, actor, "gate_run", **details)
        lifecycle.record(current, actor, "merge_queue", outcome=back.outcome, target=entry.target)
        current.notes.append(
            {"at": now_iso(), "by": actor, "text": f"merge queue: {back.detail}"[:4000]}
        )
        to = settings.on_failure if settings.on_failure in _allowed(current) else "rejected"
        if to in _allowed(current):
            lifecycle.transition(current, to, actor, f"merge queue: {back.outcome}")
            if to == "open":
                current.assignee = None
        store.put(current)
    _remember(project, outcome, drop=True)
    return outcome


def _allowed(task: Task) -> frozenset[str]:
    return TRANSITIONS.get(task.status, frozenset())


def _remember(project: Project, outcome: Outcome, *, drop: bool) -> None:
    with updating(project) as state:
        if drop:
            state.entries = [e for e in state.entries if e.task != outcome.task]
        state.recent.append(outcome.to_json() | {"detail": outcome.detail[:500]})
    invocation.signal("merge_queue", outcome=outcome.outcome, gates=len(outcome.gates))
