"""The hand-off document of one task (Markdown): goal, gates with their last runs, rejections,
notes and related tasks, so a fresh agent can pick the task up without re-explaining.

``nexus task context`` (:mod:`nexus_cli.tasks.context`), the loop's prompt and the agents'
session-start hook after a compaction (:mod:`nexus_cli.mcp.hooks_start`) print it. Kept apart
from the command's result types so that the hook, which runs at every session start, loads only
what writing the document needs (benchmarks/hooks.py).
"""

from __future__ import annotations

from nexus_cli.tasks.model import Task
from nexus_cli.tasks.store import TaskStore
from nexus_cli.tasks.workdir import gate_directory


def _last_gate_runs(task: Task) -> list[dict[str, object]]:
    """The most recent run of each gate command."""
    latest: dict[str, dict[str, object]] = {}
    for entry in task.history:
        if entry.get("action") == "gate_run":
            latest[str(entry.get("command"))] = entry
    return list(latest.values())


def _gate_lines(task: Task) -> list[str]:
    if not task.gates:
        return ["_No gates: `nexus task gate add` one._"]
    runs = {str(r["command"]): r for r in _last_gate_runs(task)}
    lines = []
    for gate in task.gates:
        if gate.wait is not None:
            lines.append(f"- `{gate.command}` — a waiting gate: no run satisfies it")
            continue
        where = f" (in service `{gate.service}`)" if gate.service else ""
        run = runs.get(gate.command)
        state = "not run yet"
        if run is not None:
            state = "passed" if run.get("passed") else f"FAILED (exit {run.get('exit_code')})"
        lines.append(f"- `{gate.command}`{where}, timeout {gate.timeout_s}s — last run: {state}")
        if run is not None and not run.get("passed") and run.get("output_tail"):
            lines += ["", "  ```", *[f"  {x}" for x in str(run["output_tail"]).splitlines()]]
            lines += ["  ```"]
    return lines


def _related(store: TaskStore, task: Task) -> list[str]:
    dependents = store.dependents(task.id)
    known = store.titles([*task.depends_on, *dependents])
    lines = []
    for label, group in (("depends on", task.depends_on), ("needed by", dependents)):
        for other in group:
            title, status = known.get(other, ("(unknown task)", "?"))
            lines.append(f"- {label} {other} [{status}]: {title}")
    return lines or ["_None._"]


def render(store: TaskStore, task: Task) -> str:
    """The hand-off document for ``task``."""
    out = [f"# {task.id}: {task.title}", ""]
    out += [
        f"- Status: {task.status}; priority P{task.priority}; "
        f"assignee: {task.assignee or 'nobody'}",
        f"- Labels: {', '.join(task.labels) or 'none'}",
        f"- Work in: `{gate_directory(store.project, task)}`"
        + (f" (workspace `{task.workspace}`)" if task.workspace else ""),
        "",
        "## Goal",
        "",
        task.description or task.title,
        "",
        "## Verification gates (all must pass: `nexus task complete " + task.id + "`)",
        "",
        *_gate_lines(task),
    ]
    rejections = task.last_rejections()
    if rejections:
        out += ["", "## Rejections to address", "", *[f"- {r}" for r in rejections]]
    if task.notes:
        out += ["", "## Notes", ""]
        out += [
            f"- {n.get('at', '')[:16]} {n.get('by', '')}: {n.get('text', '')}" for n in task.notes
        ]
    out += ["", "## Related tasks", "", *_related(store, task), ""]
    return "\n".join(out)
