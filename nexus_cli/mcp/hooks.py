"""What Nexus answers when a coding agent's lifecycle hook runs (``nexus hook EVENT``).

One function, :func:`run`, takes the event and the JSON the client sent on stdin and returns a
:class:`HookAnswer` (exit code, stdout, stderr) that the CLI prints as it is; the briefing of
``session-start`` is :mod:`nexus_cli.mcp.hooks_start`'s, so that the gate hooks, which run at
every end of a turn, load no more than they need. The events:

* ``session-start`` (Claude Code ``SessionStart``, matchers ``startup``, ``resume``, ``compact``):
  the ``nexus prime`` briefing on stdout, which Claude Code adds to the context; after a
  compaction (``source: compact``) also the hand-off of the session's task, so what the summary
  lost comes back;
* ``stop`` and ``subagent-stop`` (``Stop``, ``SubagentStop``): while the session's task has a
  gate that failed or has not run, ``{"decision": "block", "reason": ...}`` (the failing gate's
  output tail as the reason), at most :data:`MAX_BLOCKS` times in a row: ``stop_hook_active``
  says the agent is already continuing because of a stop hook, and past the bound the turn ends
  with a message to the person instead of trapping a stuck agent;
* ``task-completed`` (``TaskCompleted``): exit 2 (the reason on stderr) keeps a Claude Code task
  that names the session's Nexus task open while that task's gates do not pass.

"The session's task" is ``NEXUS_TASK_ID``, else the caller's most recently changed claimed task,
else the task of the workspace whose worktree the session runs in.

A hook never fails the session: outside a Nexus project, with a payload that is not JSON or with
a broken task store it answers nothing and exits 0 (what went wrong goes to stderr, which the
client shows only in its debug view). Gates are never run here: a gate runs only after a person
approved it, and a hook must answer in milliseconds. The agent runs them (``nexus task verify``)
and the hook reads the recorded runs.

Docs: https://code.claude.com/docs/en/hooks (events, input on stdin, ``decision``/``reason``,
exit code 2, ``stop_hook_active``; read 2026-12-06), https://developers.openai.com/codex/hooks.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nexus_cli import fs, safe_path
from nexus_cli.errors import NexusError
from nexus_cli.project import Project, find_project
from nexus_cli.tasks import approvals, ids, waits
from nexus_cli.tasks.identity import current_agent
from nexus_cli.tasks.model import Task
from nexus_cli.tasks.store import TaskStore, open_store
from nexus_cli.terminal import escape

EVENTS = ("stop", "subagent-stop", "task-completed")  # session-start: hooks_start
MAX_BLOCKS = 3  # blocks in a row before the turn may end anyway (Claude Code's own cap is 8)
MAX_PAYLOAD = 1 << 20  # bytes of stdin read; a hook payload is a few hundred
TAIL_LINES = 20
WORKING = ("in_progress", "rejected")  # the statuses in which a task's gates hold the turn
MINE = ("in_progress", "rejected", "verifying")  # a session's task (as `nexus prime` lists them)


@dataclass
class HookAnswer:
    """What the hook process prints and how it exits."""

    exit_code: int = 0
    stdout: str = ""
    stderr: str = ""


@dataclass(frozen=True)
class GateProblem:
    command: str
    exit_code: int | None  # None: not run yet
    tail: list[str]
    waits_on: str | None = None  # a waiting gate not satisfied: why (nothing runs for it)

    def describe(self) -> str:
        command = escape(self.command, newlines=False)
        if self.waits_on is not None:
            return f"- `{command}` {escape(self.waits_on, newlines=False)} (no run can satisfy it)"
        if self.exit_code is None:
            return f"- `{command}` has not run yet"
        lines = [f"- `{command}` failed (exit {self.exit_code})"]
        if self.tail:
            lines[0] += "; the end of its output:"
            lines += [f"    {escape(line, newlines=False)}" for line in self.tail]
        return "\n".join(lines)


def parse_payload(raw: bytes) -> dict[str, Any]:
    """The client's JSON object, or ``{}`` for anything else (a hook never fails on its input)."""
    try:
        value = json.loads(raw[:MAX_PAYLOAD].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def session_dir(payload: Mapping[str, Any], fallback: Path) -> Path:
    """The session's folder: the payload's ``cwd`` when it is an absolute existing folder."""
    given = payload.get("cwd")
    if isinstance(given, str) and given and os.path.isabs(given) and os.path.isdir(given):
        return Path(given)
    return fallback


def project_at(cwd: Path) -> Project | None:
    """The initialised Nexus project ``cwd`` lies in, else None (never an error)."""
    try:
        project = find_project(cwd)
    except (NexusError, OSError):
        return None
    return project if project.is_initialized else None


def failed(event: str, exc: Exception) -> HookAnswer:
    """A hook that could not answer: one line on stderr, exit 0 (the session goes on)."""
    message = exc.message if isinstance(exc, NexusError) else str(exc)
    return HookAnswer(stderr=f"nexus hook {event}: {escape(message, newlines=False)}\n")


def run(event: str, payload: Mapping[str, Any], env: Mapping[str, str], cwd: Path) -> HookAnswer:
    """Answer a gate hook (``stop``, ``subagent-stop``, ``task-completed``) for the session
    ``payload`` describes (see the module docstring)."""
    where = session_dir(payload, cwd)
    project = project_at(where)
    if project is None:
        return HookAnswer()  # not a Nexus project: nothing to say, and no error
    try:
        store = open_store(project)
        try:
            task = session_task(store, env, where)
            if event == "task-completed":
                return _task_completed(store, task, payload)
            return _stop(store, task, payload)
        finally:
            store.close()
    except (NexusError, OSError, ValueError, sqlite3.Error) as exc:
        return failed(event, exc)


def session_task(store: TaskStore, env: Mapping[str, str], cwd: Path) -> Task | None:
    """``NEXUS_TASK_ID``, else the caller's latest claimed task, else the worktree's task."""
    wanted = env.get("NEXUS_TASK_ID", "").strip()
    if wanted:
        try:
            return store.get(ids.normalise_prefix(wanted))
        except NexusError:
            return None
    agent = current_agent(env.get("NEXUS_AGENT") or None, cwd)
    mine = store.recent_docs(MINE, agent, 1)
    if mine:
        return Task.from_dict(json.loads(mine[0]))
    workspace = store.project.worktree_at(cwd)
    if workspace:
        for status in MINE:
            docs = store.list_docs(1, workspace=workspace, status=status)
            if docs:
                return Task.from_dict(json.loads(docs[0]))
    return None


def gate_problems(
    project: Project, task: Task, lookup: Callable[[str], Task | None] | None = None
) -> tuple[list[GateProblem], list[str]]:
    """The gates of ``task`` whose last recorded run failed or that never ran, or that wait
    (:mod:`nexus_cli.tasks.waits`: ``waits_on`` set; ``lookup`` finds a local task), and the
    commands that wait for a person's approval (the agent cannot run those; they never hold a
    turn)."""
    checker = waits.Checker(project, lookup or (lambda _id: None))
    latest: dict[str, dict[str, Any]] = {}
    for entry in task.history:
        if entry.get("action") == "gate_run":
            latest[str(entry.get("command"))] = entry
    waiting = {g.command for g in approvals.Book(project).pending(task)} if task.gates else set()
    problems = []
    for gate in task.gates:
        if gate.wait is not None:
            state = checker.evaluate(task, gate)
            if not state.satisfied:
                problems.append(GateProblem(gate.command, None, [], state.reason))
            continue
        if gate.command in waiting:
            continue
        last = latest.get(gate.command)
        if last is None:
            problems.append(GateProblem(gate.command, None, []))
        elif not last.get("passed"):
            tail = str(last.get("output_tail") or "").rstrip().splitlines()[-TAIL_LINES:]
            code = last.get("exit_code")
            problems.append(GateProblem(gate.command, code if isinstance(code, int) else -1, tail))
    return problems, sorted(waiting)


def _reason(task: Task, problems: list[GateProblem]) -> str:
    title = escape(task.title, newlines=False)
    lines = [
        f"Nexus: task {task.id} ({title}) is not done: its gates must pass first.",
        *(p.describe() for p in problems),
        f"Fix what fails, then run `nexus task verify {task.id}` (it runs the gates and records "
        f"the result) and `nexus task complete {task.id}` once they pass. If you cannot make "
        f'them pass now, say why in `nexus task note {task.id} "..."` and tell the user.',
    ]
    return "\n".join(lines)


def _state_file(project: Project, payload: Mapping[str, Any]) -> Path:
    key = "|".join(str(payload.get(k) or "") for k in ("session_id", "agent_id"))
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
    return project.state_dir / "hooks" / f"stop-{digest}.json"


# The stop counters live under .nexus/state, opened below the project root without following a
# link (docs/security.md, Rule 1): a link there is reported on stderr, and nothing is written.


def _blocks_so_far(root: Path, path: Path, active: bool) -> int:
    if not active:
        return 0  # a new stop, not one the agent reached by continuing after a block
    try:
        value = json.loads(safe_path.read_bytes(root, path)).get("blocks")
    except (OSError, ValueError, AttributeError):
        return 0
    return value if isinstance(value, int) and value >= 0 else 0


def _forget(root: Path, path: Path) -> None:
    safe_path.unlink(root, path)


def _stop(store: TaskStore, task: Task | None, payload: Mapping[str, Any]) -> HookAnswer:
    root, path = store.project.root, _state_file(store.project, payload)
    if task is None or task.status not in WORKING:
        _forget(root, path)
        return HookAnswer()
    problems, _waiting = gate_problems(store.project, task, store.get)
    if not [p for p in problems if p.waits_on is None]:  # a waiting gate never holds a turn
        _forget(root, path)
        return HookAnswer(stdout=_waits_message(task, problems))
    blocks = _blocks_so_far(root, path, payload.get("stop_hook_active") is True)
    if blocks >= MAX_BLOCKS:  # kept: later stops of this run of blocks end the turn too
        message = (
            f"Nexus let the turn end: task {task.id}'s gates still fail after {blocks} attempts "
            f"in a row (`nexus task context {task.id}` shows them)."
        )
        return HookAnswer(stdout=json.dumps({"systemMessage": message}) + "\n")
    fs.require_directory(path.parent, what="folder", root=root)
    text = json.dumps({"blocks": blocks + 1, "task": task.id}) + "\n"
    fs.atomic_write(path, text, fsync=False, root=root)
    answer = {"decision": "block", "reason": _reason(task, problems)}
    return HookAnswer(stdout=json.dumps(answer, ensure_ascii=False) + "\n")


def _task_completed(store: TaskStore, task: Task | None, payload: Mapping[str, Any]) -> HookAnswer:
    if task is None or task.status not in WORKING:
        return HookAnswer()
    named = " ".join(str(payload.get(k) or "") for k in ("task_subject", "task_description"))
    if task.id not in named.lower():
        return HookAnswer()  # a step of the work, not the Nexus task itself
    problems, _waiting = gate_problems(store.project, task, store.get)
    if not problems:
        return HookAnswer()
    return HookAnswer(exit_code=2, stderr=_reason(task, problems) + "\n")


def _waits_message(task: Task, problems: list[GateProblem]) -> str:
    """For the person, when the turn ends with only waiting gates left: what they wait on."""
    if not problems:
        return ""
    shown = "; ".join(
        f"{escape(p.command, newlines=False)} ({escape(p.waits_on or '', newlines=False)})"
        for p in problems
    )
    message = f"Nexus: task {task.id} is not done yet: it waits on {shown}."
    return json.dumps({"systemMessage": message}, ensure_ascii=False) + "\n"
