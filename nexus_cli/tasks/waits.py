"""Waiting gates: whether a task's ``approval:``, ``after:`` and ``task:`` gates are satisfied.

A waiting gate never runs a process. It is satisfied

- ``approval: NAME``: by an ``approval`` entry for NAME in the task's history, recorded by
  ``nexus task approve ID --as NAME`` (a person at a terminal; never an agent over MCP or in
  ``nexus loop``, :func:`approve`) after the task last went back to ``open`` or ``rejected``;
- ``after: MOMENT``: once the clock reads that UTC moment or later;
- ``task: ID``: once that task of this project is ``done``; ``task: PATH#ID``: once that task of
  the repository at PATH (relative to this project's root, or absolute) is ``done`` in that
  repository's ``.nexus/tasks.jsonl``. The other repository is only read: the file (never its
  ``tasks.db``), folder by folder without following a link inside it, and its lines pass the
  same schema as ours. A missing repository, file or task is a reason the gate waits, never an
  error.

:func:`evaluate` answers for one gate, with the reason a person or an agent reads.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexus_cli import safe_path
from nexus_cli.caller import Caller
from nexus_cli.errors import ConflictError, NexusError, UsageError
from nexus_cli.project import TASKS_FILE, Project
from nexus_cli.tasks import jsonl, wait_spec
from nexus_cli.tasks.model import Gate, Task, now_iso
from nexus_cli.terminal import escape

# Moving back to one of these (reopen, reject, a reclaimed lease) makes earlier approvals stale.
RESTARTS = ("open", "rejected")
APPROVAL = "approval"  # the history action that `task approve --as` records
# `nexus loop` sets this in its agent's environment: an agent there may not approve.
LOOP_MARK = "NEXUS_LOOP_ITERATION"


@dataclass(frozen=True)
class WaitState:
    """One waiting gate of a task: satisfied or not, and why (a line for people and agents)."""

    gate: Gate
    satisfied: bool
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "gate": self.gate.command,
            "wait": self.gate.wait,
            "satisfied": self.satisfied,
            "reason": self.reason,
        }


@dataclass
class Checker:
    """Evaluates waiting gates for one operation: another repository's file is read once."""

    project: Project
    lookup: Callable[[str], Task | None]
    now: str = field(default_factory=now_iso)
    _files: dict[str, dict[str, str] | str] = field(default_factory=dict)

    def evaluate(self, task: Task, gate: Gate) -> WaitState:
        if gate.wait == "approval":
            return self._approval(task, gate)
        if gate.wait == "after":
            passed = self.now >= gate.target
            shown = _moment(gate.target)
            return WaitState(gate, passed, f"{'since' if passed else 'waits until'} {shown}")
        return self._task(gate)

    def unsatisfied(self, task: Task) -> list[WaitState]:
        states = (self.evaluate(task, g) for g in task.gates if g.wait is not None)
        return [s for s in states if not s.satisfied]

    def _approval(self, task: Task, gate: Gate) -> WaitState:
        found = approval_by(task, gate.target)
        if found is None:
            return WaitState(gate, False, f"waits for {gate.target}'s approval")
        return WaitState(gate, True, f"approved by {gate.target} at {_moment(found['at'])}")

    def _task(self, gate: Gate) -> WaitState:
        path, task_id = wait_spec.split_task(gate.target)
        if path is None:
            other = self.lookup(task_id)
            if other is None:
                return WaitState(gate, False, f"waits on task {task_id}, which does not exist")
            return _status_state(gate, task_id, other.status, "")
        statuses = self._statuses(path)
        where = f" of {path}"
        if isinstance(statuses, str):
            return WaitState(gate, False, f"waits on task {task_id}{where}: {statuses}")
        status = statuses.get(task_id)
        if status is None:
            return WaitState(gate, False, f"waits on task {task_id}{where}, which has no such task")
        return _status_state(gate, task_id, status, where)

    def _statuses(self, path: str) -> dict[str, str] | str:
        """Task id -> status in the repository at ``path``, or why it cannot be read."""
        if path not in self._files:
            self._files[path] = read_statuses(wait_spec.repository(path, self.project.root))
        return self._files[path]


def _status_state(gate: Gate, task_id: str, status: str, where: str) -> WaitState:
    if status == "done":
        return WaitState(gate, True, f"task {task_id}{where} is done")
    return WaitState(gate, False, f"waits on task {task_id}{where}, which is {status}")


def _moment(stored: Any) -> str:
    """A stored moment as a person reads it: ``2026-12-24T09:00Z`` (seconds when not zero)."""
    text = str(stored)
    short = text[:19]
    return (short[:16] if short.endswith(":00") else short) + "Z"


def read_statuses(base: Path) -> dict[str, str] | str:
    """Task id -> status from ``base``'s ``.nexus/tasks.jsonl`` (read only, no link followed
    below the repository's real path), or why it cannot be read."""
    try:
        root = os.path.realpath(base)
    except (OSError, ValueError):
        return "that path cannot be used"
    if not os.path.isdir(root):
        return "no repository there"
    try:
        data = safe_path.read_bytes(root, os.path.join(root, ".nexus", TASKS_FILE))
    except FileNotFoundError:
        return f"it has no .nexus/{TASKS_FILE}"
    except (OSError, NexusError) as exc:
        message = exc.message if isinstance(exc, NexusError) else (exc.strerror or str(exc))
        return f"cannot read its tasks ({message})"
    try:
        parsed = jsonl.read(data, source=f"{root}/.nexus/{TASKS_FILE}")
    except NexusError as exc:
        return f"cannot read its tasks ({exc.message})"
    return {task.id: task.status for task in parsed.tasks}


def waits_on(task: Task) -> list[str]:
    """The ids of this project's tasks that ``task`` cannot finish before: its dependencies and
    the targets of its local ``task:`` gates."""
    local = (wait_spec.split_task(g.target) for g in task.gates if g.wait == "task")
    return [*task.depends_on, *(ref for path, ref in local if path is None)]


def wait_path(lookup: Callable[[str], Task | None], start: str, target: str) -> list[str] | None:
    """A path ``start -> … -> target`` along dependencies and local ``task:`` gates, or None.

    Adding an edge ``target -> start`` closes a cycle exactly when this finds a path: two tasks
    that wait on each other, by either kind of edge, would both wait forever.
    """
    previous: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == target:
            path = [node]
            while (before := previous[path[-1]]) is not None:
                path.append(before)
            return path[::-1]
        task = lookup(node)
        for nxt in () if task is None else waits_on(task):
            if nxt not in previous:
                previous[nxt] = node
                queue.append(nxt)
    return None


def approval_by(task: Task, name: str) -> dict[str, Any] | None:
    """The history entry in which ``name`` approved ``task`` since it last went back to open
    or rejected; None if there is none."""
    found: dict[str, Any] | None = None
    for entry in task.history:
        if entry.get("action") == "transition" and entry.get("to") in RESTARTS:
            found = None
        elif entry.get("action") == APPROVAL and entry.get("as") == name:
            found = entry
    return found


def asked_names(task: Task) -> list[str]:
    """The names the task's ``approval:`` gates ask for, in order."""
    return [g.target for g in task.gates if g.wait == "approval"]


def refuse_agents(caller: Caller, env: Mapping[str, str], why: str, command: str) -> None:
    """Refuse an approval that is not a person's: an agent over MCP (``caller``) or the agent
    ``nexus loop`` runs (its environment has :data:`LOOP_MARK`). ``why``: what waits for a
    person; ``command``: what a person runs instead, at a terminal."""
    if caller is not Caller.PERSON:
        raise UsageError(
            f"an agent cannot approve: {why}", hint=f"a person runs {command} at a terminal"
        )
    if env.get(LOOP_MARK):
        raise UsageError(
            "approving inside `nexus loop` is refused: the loop's agent is not a person",
            hint=f"a person runs {command} at a terminal",
        )


def check_approver(task: Task, name: str, caller: Caller, env: Mapping[str, str]) -> None:
    """Refuse an approval as ``name`` that is not a person's or not asked for.

    Only a person at the command line approves: an agent over MCP (``caller``) or the agent that
    ``nexus loop`` runs (its environment has :data:`LOOP_MARK`) is refused, because a gate that
    waits for a person exists precisely to hold the work an agent did until someone looked at
    it. The CLI also asks on the terminal (``/dev/tty``), which a pipe or an agent's shell tool
    cannot answer.
    """
    refuse_agents(
        caller,
        env,
        "a task's approval gate waits for a person",
        f"`nexus task approve {task.id} --as {name}`",
    )
    names = asked_names(task)
    if name not in names:
        asked = ", ".join(escape(n, newlines=False) for n in names) or "nobody"
        raise UsageError(
            f"task {task.id} does not wait for {escape(name, newlines=False)}'s approval "
            f"(its approval gates ask for: {asked})",
            hint=f"a person can add one: `nexus task gate add {task.id} --wait approval:NAME`",
        )
    if task.finished:
        raise ConflictError(f"task {task.id} is {task.status}; there is nothing to approve")


def lines(states: Iterable[WaitState]) -> str:
    """The reasons, escaped, in one line: ``approval: alice (waits for alice's approval); …``."""
    return "; ".join(
        f"{escape(s.gate.command, newlines=False)} ({escape(s.reason, newlines=False)})"
        for s in states
    )
