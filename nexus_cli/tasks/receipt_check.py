"""``nexus task check-receipts``: re-verify, offline and in any clone, that closed tasks have proof.

For every task that is ``done`` or in ``review`` (with ``since``: only those closed in commits
not reachable from it, or closed and not committed yet), the verification that closed it must
have left, for every current gate of the task, a receipt (:mod:`nexus_cli.tasks.receipts`) that:

- is for that gate's command (``command_sha256``) and that task, and recorded exit 0;
- says the gate was approved;
- has an ``output_sha256`` that matches its stored ``output_tail``;
- ran on the tree of the commit that closed the task — the first commit whose
  ``.nexus/tasks.jsonl`` holds that closing transition — with ``.nexus/`` left out on both sides
  (a task closed but not committed yet is compared with the worktree, and the report says so);
- carries a signature that verifies, if it carries one (with ``require_signed``, it must).

Nothing here needs the machine the gates ran on: only git, ``ssh-keygen`` and ``gpg``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexus_cli import git, git_trees, jsonio
from nexus_cli.project import NEXUS_DIR, TASKS_FILE, Project
from nexus_cli.tasks import approvals, gate_runs, receipts, signatures
from nexus_cli.tasks.listing import opened
from nexus_cli.tasks.model import Gate, Task

CLOSED = ("done", "review")
SHORT = 12
_LINE_ID = re.compile(r'^\{"id":"([^"\\]+)"')


@dataclass
class TaskCheck:
    """What checking one closed task found; ``problems`` is empty when its receipts hold."""

    id: str
    status: str
    closed_in: str | None = None  # the commit that closed it; None: not committed yet
    receipts: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "ok": self.ok,
            "closed_in": self.closed_in,
            "committed": self.closed_in is not None,
            "receipts": self.receipts,
            "problems": list(self.problems),
        }


@dataclass
class ReceiptCheck:
    since: str | None
    tasks: list[TaskCheck]

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.tasks)

    @property
    def failing(self) -> list[TaskCheck]:
        return [t for t in self.tasks if not t.ok]

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "since": self.since, "tasks": [t.to_json() for t in self.tasks]}


def check(
    project: Project, *, since: str | None = None, require_signed: bool = False
) -> ReceiptCheck:
    """Check the receipts of every closed task (closed after ``since``, a git revision)."""
    root = project.root
    since_id = None if since is None else git.resolve_commit(root, since, option="--since")
    with opened(project) as store:
        closed = [t for status in CLOSED for t in store.list_tasks(status=status)]
    closes = {t.id: _close_at(t.history) for t in closed}
    closing, before = _closing_commits(root, {k: v for k, v in closes.items() if v}, since_id)
    trees = _Trees(root)
    found = []
    for task in sorted(closed, key=lambda t: t.id):
        if task.id in before:
            continue
        result = TaskCheck(task.id, task.status, closing.get(task.id))
        _check_task(task, result, trees, require_signed=require_signed)
        found.append(result)
    return ReceiptCheck(since_id, found)


def _check_task(task: Task, result: TaskCheck, trees: _Trees, *, require_signed: bool) -> None:
    problems = result.problems
    completed = gate_runs.completing_run(task.history)
    if completed is None:
        problems.append(f"no verification closed it (it became {task.status} without gates)")
        return
    _, run = completed
    if not task.gates and not task.no_gates:
        problems.append("it has no gate, and was not created without gates")
    used = _receipts_for_gates(task.gates, run, problems)
    result.receipts = len(used)
    for gate, receipt in used:
        problems.extend(_check_receipt(task, gate, receipt, require_signed=require_signed))
    for tree in sorted({str(r.get("tree")) for _, r in used}):
        problem = trees.mismatch(tree, result.closed_in)
        if problem is not None:
            problems.append(problem)


def _receipts_for_gates(
    gates: list[Gate], run: gate_runs.Run, problems: list[str]
) -> list[tuple[Gate, dict[str, Any]]]:
    """Each current gate with the receipt of the closing run for its exact command."""
    by_hash = {r.get("command_sha256"): r for r in run.receipts}
    used = []
    for index, gate in enumerate(gates):
        receipt = by_hash.get(approvals.gate_hash(gate))
        if receipt is not None:
            used.append((gate, receipt))
            continue
        entry = run.entries[index] if index < len(run.entries) else None
        if entry is not None and isinstance(entry.get("receipt"), dict):
            problems.append(f"gate `{gate.command}`: receipt's command does not match the gate")
        else:
            problems.append(f"gate `{gate.command}` has no receipt")
    return used


def _check_receipt(
    task: Task, gate: Gate, receipt: dict[str, Any], *, require_signed: bool
) -> list[str]:
    name = f"gate `{gate.command}`"
    problems = []
    if receipt.get("format") != receipts.FORMAT:
        problems.append(f"{name}: receipt format {receipt.get('format')!r} is not known")
    if receipt.get("task") != task.id:
        problems.append(f"{name}: the receipt is for another task ({receipt.get('task')!r})")
    if receipt.get("exit_code") != 0:
        problems.append(f"{name}: the receipt records exit {receipt.get('exit_code')!r}")
    approved = receipt.get("approved")
    if not isinstance(approved, dict) or not approved.get("how"):
        problems.append(f"{name}: the receipt does not say the gate was approved")
    tail = receipt.get("output_tail")
    if not isinstance(tail, str) or receipt.get("output_sha256") != receipts.output_hash(tail):
        problems.append(f"{name}: output hash does not match its stored output")
    if "signature" in receipt:
        why = signatures.verify(
            receipt.get("signer"), receipt.get("signature"), signatures.canonical(receipt)
        )
        if why is not None:
            problems.append(f"{name}: {why}")
    elif require_signed:
        problems.append(f"{name}: the receipt is not signed")
    return problems


class _Trees:
    """The trees receipts are compared with, each computed once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._known: dict[str | None, str] = {}

    def of(self, commit: str | None) -> str:
        if commit not in self._known:
            if commit is None:
                tree = git_trees.worktree_tree(self.root, exclude=NEXUS_DIR)
            else:
                tree = git_trees.commit_tree_without(self.root, commit, exclude=NEXUS_DIR)
            self._known[commit] = tree
        return self._known[commit]

    def mismatch(self, tree: str, commit: str | None) -> str | None:
        expected = self.of(commit)
        if tree == expected:
            return None
        ran = tree[:SHORT] if tree != "None" else "none recorded"
        if commit is None:
            return (
                f"the tree it ran on ({ran}) is not the tree of the worktree "
                f"({expected[:SHORT]}); it is closed but not committed yet"
            )
        return (
            f"the tree it ran on ({ran}) is not the tree of the commit that closed it "
            f"({commit[:SHORT]}, tree {expected[:SHORT]})"
        )


# --- which commit closed a task --------------------------------------------------------------


def _close_at(history: list[dict[str, Any]]) -> str | None:
    """The time of the transition that closed a task (its identity across commits)."""
    completed = gate_runs.completing_run(history)
    return None if completed is None else str(completed[0].get("at") or "") or None


def _closing_commits(
    root: Path, wanted: dict[str, str], since: str | None
) -> tuple[dict[str, str], set[str]]:
    """For each task id in ``wanted`` (id -> time of its close): the oldest commit of the
    unbroken run of commits, from HEAD back, whose tasks.jsonl holds that close; absent when
    HEAD's does not (closed, not committed). Also the ids whose close ``since`` already holds."""
    path = f"{NEXUS_DIR}/{TASKS_FILE}"
    found: dict[str, str] = {}
    pending = set(wanted)
    for commit in git.commits_touching(root, path, since=since):
        if not pending:
            break
        held = _closes_in(git.file_at(root, commit, path) or "", pending)
        for task_id in list(pending):
            if held.get(task_id) == wanted[task_id]:
                found[task_id] = commit
            else:
                pending.discard(task_id)
    before: set[str] = set()
    if since is not None:
        held = _closes_in(git.file_at(root, since, path) or "", set(wanted))
        before = {task_id for task_id, at in wanted.items() if held.get(task_id) == at}
    return found, before


def _closes_in(text: str, ids: Iterable[str]) -> dict[str, str | None]:
    """For the tasks ``ids`` in a tasks.jsonl text: the time of the close each line holds."""
    wanted = set(ids)
    held: dict[str, str | None] = {}
    for line in text.split("\n"):
        match = _LINE_ID.match(line)
        if match is not None and match.group(1) not in wanted:
            continue
        try:
            data = jsonio.loads(line)
        except ValueError:
            continue
        if not isinstance(data, dict) or data.get("id") not in wanted:
            continue
        history = data.get("history")
        if data.get("status") in CLOSED and isinstance(history, list):
            held[str(data["id"])] = _close_at(history)
    return held
