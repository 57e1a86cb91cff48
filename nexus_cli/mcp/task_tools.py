"""The task tools of ``nexus mcp``: thin calls into the task library, JSON in and out.

Every task id an MCP client sends goes through :func:`nexus_cli.validate.task_id` first (a full
``nx-…`` id or its 4+ character suffix); results have the shapes of the CLI's ``--json``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from nexus_cli import validate
from nexus_cli.errors import UsageError
from nexus_cli.project import Project
from nexus_cli.tasks import ids
from nexus_cli.tasks.store import TaskStore, open_store

DEFAULT_GATE_TIMEOUT_S = 600


def task_ref(value: object) -> str:
    """An id an MCP client sent: ``nx-ab12`` or ``ab12``, checked by the CLI's validator."""
    if isinstance(value, str) and value and not value.startswith(("-", ".", "/")):
        value = ids.normalise_prefix(value)
    return validate.task_id(value)


def _me() -> str:
    from nexus_cli.tasks.identity import current_agent

    return current_agent()


@contextmanager
def _store(project: Project) -> Iterator[TaskStore]:
    """A task store for one call, closed after it (the server lives for a whole session)."""
    store = open_store(project)
    try:
        yield store
    finally:
        store.close()


def _docs(docs: list[str]) -> list[Any]:
    import json

    return [json.loads(d) for d in docs]


def task_ready(project: Project, limit: int = 20) -> list[Any]:
    if limit < 0:
        raise UsageError("limit must be 0 (all) or more")
    with _store(project) as store:
        return _docs(store.ready_docs(_me(), limit))


def task_list(project: Project, status: str | None = None, label: str | None = None) -> list[Any]:
    from nexus_cli.tasks.model import STATUSES

    if status is not None and status not in STATUSES:
        raise UsageError(f"unknown status {status!r}", hint=f"one of: {', '.join(STATUSES)}")
    with _store(project) as store:
        return _docs(store.list_docs(status=status, label=label))


def task_show(project: Project, task_id: str) -> dict[str, Any]:
    from nexus_cli.tasks.lifecycle import load

    with _store(project) as store:
        return load(store, task_ref(task_id)).to_dict()


def task_history(project: Project, task_id: str) -> list[Any]:
    from nexus_cli.tasks.lifecycle import load

    with _store(project) as store:
        return load(store, task_ref(task_id)).history


def task_context(project: Project, task_id: str) -> str:
    from nexus_cli.tasks.context import render
    from nexus_cli.tasks.lifecycle import load

    with _store(project) as store:
        return render(store, load(store, task_ref(task_id)))


def task_create(
    project: Project,
    title: str,
    gates: list[str],
    description: str = "",
    priority: int = 2,
    depends_on: list[str] | None = None,
    labels: list[str] | None = None,
    no_gates: bool = False,
) -> dict[str, Any]:
    """Create a task. Gates: the given ones, else the detected test commands, else none only
    when ``no_gates`` says so explicitly (and the project does not require one)."""
    from nexus_cli.tasks.config import load_settings
    from nexus_cli.tasks.gates import detect_default_gates
    from nexus_cli.tasks.lifecycle import NewTask, create
    from nexus_cli.tasks.model import Gate

    deps = tuple(task_ref(d) for d in depends_on or [])
    commands = [g for g in gates if g.strip()]
    if len(commands) != len(gates):
        raise UsageError("a gate needs a command (an empty string was given)")
    if commands and no_gates:
        raise UsageError("gates and no_gates=true contradict each other")
    if not commands and not no_gates:
        commands = detect_default_gates(project.root)
        if not commands:
            raise UsageError(
                "a task needs a verification gate and no test command was detected",
                hint="pass gates (shell commands that must exit 0), or no_gates=true",
            )
    if not commands and load_settings(project).require_gate:
        raise UsageError("this project requires a verification gate", hint="pass gates")
    spec = NewTask(
        title=title,
        description=description,
        priority=priority,
        depends_on=deps,
        gates=tuple(Gate(c, DEFAULT_GATE_TIMEOUT_S) for c in commands),
        labels=tuple(labels or ()),
    )
    with _store(project) as store:
        return create(store, spec, _me()).to_dict()


def change(project: Project, task_id: str, action: str, **kwargs: Any) -> dict[str, Any]:
    """``claim``, ``start`` or ``note``: one named change, as ``nexus task <action> --json``."""
    from nexus_cli.tasks.lifecycle import change as change_task

    with _store(project) as store:
        return change_task(store, task_ref(task_id), _me(), action, **kwargs).to_dict()


def run_gates(project: Project, task_id: str, complete: bool) -> dict[str, Any]:
    """``task_complete`` (moves the task only if every gate passes) or ``task_verify``.

    A failed gate raises :class:`~nexus_cli.mcp.recording.GatesFailed` carrying the same JSON
    (``passed: false`` and each gate's output tail), which the server reports as a tool error.
    """
    from nexus_cli.tasks.config import load_settings
    from nexus_cli.tasks.verification import complete as complete_task
    from nexus_cli.tasks.verification import verify

    ref = task_ref(task_id)
    with _store(project) as store:
        if complete:
            verification = complete_task(store, ref, _me(), load_settings(project))
        else:
            verification = verify(store, ref, _me())
    result = {
        "task": verification.task.to_dict(),
        "passed": verification.passed,
        "gates": [r.to_dict() for r in verification.results],
    }
    if not verification.passed:
        from nexus_cli.mcp.recording import GatesFailed
        from nexus_cli.tasks.verification import failure

        error = failure(verification, moved=complete)
        hint = "each gate's exit code and output tail follow; fix the cause, then call again"
        raise GatesFailed(error.message, hint, result)
    return result
