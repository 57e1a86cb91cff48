"""``nexus prime``: the start-of-session briefing a coding agent reads first.

Small by design (well under ~1,500 tokens): the project, the workspace the session runs in, the
caller's tasks in progress with their last failing gate, the top ready tasks, blocked tasks and
why, and the three commands to continue. Every list is bounded and comes from an indexed query,
so it stays fast at 10,000 tasks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexus_cli import jsonio
from nexus_cli.plural import plural
from nexus_cli.project import Project
from nexus_cli.tasks import approvals, memory
from nexus_cli.tasks.identity import current_agent
from nexus_cli.tasks.listing import blocked_page, opened, ready_docs
from nexus_cli.tasks.model import Task
from nexus_cli.tasks.store import TaskStore
from nexus_cli.terminal import escape

SHOWN = 5
TITLE_CHARS = 100
MINE = ("in_progress", "rejected", "verifying")


@dataclass
class Briefing:
    project: str
    root: str
    agent: str
    workspace: str | None
    tasks_total: int
    in_progress: list[dict[str, Any]] = field(default_factory=list)
    ready: list[dict[str, Any]] = field(default_factory=list)
    ready_more: bool = False
    blocked: list[dict[str, Any]] = field(default_factory=list)
    blocked_more: bool = False
    # Of the tasks above: those with a gate that waits for a person's approval.
    needs_approval: list[dict[str, Any]] = field(default_factory=list)
    next_commands: list[str] = field(default_factory=list)
    # The newest project facts (`nexus remember`), within a size budget.
    memory: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def to_json(self) -> dict[str, Any]:
        return self.to_dict()


def _title(text: str) -> str:
    one = " ".join(str(text).split())
    return one if len(one) <= TITLE_CHARS else one[: TITLE_CHARS - 1] + "…"


def last_failing_gate(history: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The most recent gate run if it failed (a later pass of any gate clears nothing else)."""
    latest: dict[str, dict[str, Any]] = {}
    for entry in history:
        if entry.get("action") == "gate_run":
            latest[str(entry.get("command"))] = entry
    failed = [e for e in latest.values() if not e.get("passed")]
    if not failed:
        return None
    last = max(failed, key=lambda e: str(e.get("at", "")))
    tail = str(last.get("output_tail") or "").strip().splitlines()[-3:]
    return {"command": last.get("command"), "exit_code": last.get("exit_code"), "tail": tail}


def _summary(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": doc["id"],
        "title": _title(doc["title"]),
        "priority": doc["priority"],
        "status": doc["status"],
    }


def current_tasks(store: TaskStore, agent: str, limit: int = SHOWN) -> list[dict[str, Any]]:
    """The caller's unfinished, started tasks (most recently updated first)."""
    return [jsonio.loads(d) for d in store.recent_docs(MINE, agent, limit)]


def build(store: TaskStore, agent: str, cwd: Path) -> Briefing:
    project = store.project
    brief = Briefing(
        project=project.root.name,
        root=str(project.root),
        agent=agent,
        workspace=project.worktree_at(cwd),
        tasks_total=store.count(),
    )
    current = current_tasks(store, agent)
    for doc in current:
        brief.in_progress.append(
            {**_summary(doc), "last_failing_gate": last_failing_gate(doc.get("history", []))}
        )
    ready = [jsonio.loads(d) for d in ready_docs(store.project, store, agent, SHOWN + 1)]
    brief.ready = [_summary(d) for d in ready[:SHOWN]]
    brief.ready_more = len(ready) > SHOWN
    brief.blocked_more, blocked, waiting = blocked_page(project, store, SHOWN)
    brief.blocked = [
        {
            **_summary(task.to_dict()),
            "blocked_by": deps[:SHOWN],
            "waiting_on": [s.to_json() for s in waiting.get(task.id, [])],
        }
        for task, deps in blocked
    ]
    shown = [*current, *ready[:SHOWN], *(task.to_dict() for task, _ in blocked)]
    brief.needs_approval = _waiting(store.project, shown)
    brief.next_commands = _next_commands(brief)
    brief.memory = [fact.to_json() for fact in memory.briefing(project)]
    return brief


def _waits(deps: list[str], waiting_on: list[dict[str, Any]]) -> str:
    """What a blocked task waits on, in one line: its dependencies, then its waiting gates."""
    gates = [str(state["reason"]) for state in waiting_on]
    return "; ".join([*([f"waits on {', '.join(deps)}"] if deps else []), *gates])


def _waiting(project: Project, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tasks among ``docs`` with a gate that waits for a person's approval."""
    book = approvals.Book(project)
    found: dict[str, dict[str, Any]] = {}
    for doc in docs:
        task = Task.from_dict(doc)
        waiting = book.pending(task)
        if waiting and task.id not in found:
            found[task.id] = {**_summary(doc), "commands": [_title(g.command) for g in waiting]}
    return list(found.values())


def briefing(project: Project, cwd: Path, *, agent: str | None = None) -> Briefing:
    """``nexus prime``: the briefing for ``agent`` (default: who runs it) working in ``cwd``."""
    with opened(project) as store:
        return build(store, current_agent(agent), cwd)


def _next_commands(brief: Briefing) -> list[str]:
    if brief.in_progress:
        tid = brief.in_progress[0]["id"]
        return [
            f"nexus task context {tid}",
            f'nexus task note {tid} "what you learned"',
            f"nexus task complete {tid}",
        ]
    waiting = {t["id"] for t in brief.needs_approval}
    workable = [t for t in brief.ready if t["id"] not in waiting]
    if workable:
        tid = workable[0]["id"]
        return [
            f"nexus task claim {tid}",
            f"nexus task context {tid}",
            f"nexus task complete {tid}",
        ]
    return [
        'nexus task create "TITLE" --gate "TEST COMMAND"',
        "nexus task list",
        "nexus task blocked",
    ]


def _e(value: object) -> str:
    """A data value (title, gate output, path, name) safe on a terminal and on one line."""
    return escape(str(value), newlines=False)


def render(brief: Briefing) -> str:
    """The briefing as Markdown. Every value from the project (titles, notes, gate output,
    names) has its control characters shown visibly; ``--json`` keeps the raw strings."""
    out = [f"# Nexus session: {_e(brief.project)}", ""]
    out.append(
        f"- Project: `{_e(brief.root)}` ({plural(brief.tasks_total, 'task')}); "
        f"you are `{_e(brief.agent)}`"
    )
    if brief.workspace:
        out.append(f"- Workspace: `{_e(brief.workspace)}` (this session runs in its worktree)")
    out.append("- A task is done only when its gates pass: `nexus task complete ID`.")
    out.append(
        "- A gate runs only once a person approved its exact command: gates you add or change "
        "(MCP, tasks.jsonl) wait for `nexus task gate approve ID`, which only a person can run."
    )
    out += ["", "## In progress (yours)", ""]
    for t in brief.in_progress:
        out.append(f"- {_e(t['id'])} [{_e(t['status'])}] P{t['priority']} {_e(t['title'])}")
        gate = t["last_failing_gate"]
        if gate:
            out.append(
                f"  - last failing gate: `{_e(gate['command'])}` (exit {_e(gate['exit_code'])})"
            )
            out += [f"    > {_e(line)}" for line in gate["tail"]]
    if not brief.in_progress:
        out.append("_Nothing in progress._")
    out += ["", "## Ready", ""]
    out += [f"- {_e(t['id'])} P{t['priority']} {_e(t['title'])}" for t in brief.ready]
    out.append("_… more: `nexus task ready`_" if brief.ready_more else "")
    if not brief.ready:
        out[-1] = "_Nothing is ready._"
    if brief.blocked:
        out += ["", "## Blocked", ""]
        out += [
            f"- {_e(t['id'])} {_e(t['title'])} — {_e(_waits(t['blocked_by'], t['waiting_on']))}"
            for t in brief.blocked
        ]
        out.append("_… more: `nexus task blocked`_" if brief.blocked_more else "")
    if brief.needs_approval:
        out += ["", "## Waiting for a person's approval (do not work on these yet)", ""]
        out += [
            f"- {_e(t['id'])} {_e(t['title'])}: {', '.join(f'`{_e(c)}`' for c in t['commands'])}"
            for t in brief.needs_approval
        ]
    if brief.memory:
        out += [
            "",
            "## Project memory (newest first; `nexus remember` adds, `nexus forget` drops)",
            "",
        ]
        out += [f"- {_e(f['text'])} ({_e(f['id'])}, {_e(f['by'])})" for f in brief.memory]
    commands = [f"1. `{_e(c)}`" for c in brief.next_commands]
    out += ["", "## Continue with", "", *commands, ""]
    return "\n".join(line for i, line in enumerate(out) if line or (i and out[i - 1]))
