"""The task tools of ``nexus mcp``: adapters over the task core, as an agent calls it.

Each function calls one operation of the task core (``tasks/listing.py``, ``queries.py``,
``actions.py``, ``context.py``) with ``caller=Caller.AGENT`` and returns its ``to_json()``: the
same JSON as the matching ``nexus task … --json`` (tests/mcp/test_front_end_equivalence.py).
No rule lives here (ADR 0007).
"""

from __future__ import annotations

from typing import Any

from nexus_cli.caller import Caller
from nexus_cli.mcp.recording import GatesFailed
from nexus_cli.project import Project
from nexus_cli.tasks import actions, listing, queries
from nexus_cli.tasks.context import handoff
from nexus_cli.tasks.model import Gate
from nexus_cli.tasks.verification import Verification, failure

AGENT = Caller.AGENT


def task_ready(project: Project, limit: int | None = None) -> list[Any]:
    return listing.ready(project, limit=limit, caller=AGENT).to_json()


def task_list(
    project: Project, status: str | None = None, label: str | None = None, limit: int | None = None
) -> list[Any]:
    return listing.list_tasks(
        project, status=status, label=label, limit=limit, caller=AGENT
    ).to_json()


def task_show(project: Project, task_id: str) -> dict[str, Any]:
    return queries.show(project, task_id).to_json()


def task_blocked(project: Project) -> list[Any]:
    return queries.blocked(project).to_json()


def task_history(project: Project, task_id: str) -> list[Any]:
    return queries.history(project, task_id).to_json()


def task_context(project: Project, task_id: str) -> str:
    found = handoff(project, task_id)
    assert found is not None  # only --current finds nothing
    return found.to_json()


def task_create(
    project: Project,
    title: str,
    gates: list[str],
    description: str = "",
    priority: int = 2,
    depends_on: list[str] | None = None,
    labels: list[str] | None = None,
    no_gates: bool = False,
    waits: list[str] | None = None,
) -> dict[str, Any]:
    created = actions.create(
        project,
        title,
        gates=gates,
        no_gates=no_gates,
        waits=waits or (),
        description=description,
        priority=priority,
        depends_on=depends_on or (),
        labels=labels or (),
        caller=AGENT,
    )
    return created.to_json()


def task_update(
    project: Project,
    task_id: str,
    title: str | None = None,
    description: str | None = None,
    priority: int | None = None,
    add_labels: list[str] | None = None,
    remove_labels: list[str] | None = None,
    add_depends_on: list[str] | None = None,
    remove_depends_on: list[str] | None = None,
    gates: list[str] | None = None,
    parent: str | None = None,
    waits: list[str] | None = None,
) -> dict[str, Any]:
    """As ``nexus task edit ID --title … --json``; a new or changed gate waits for a person.
    ``gates`` replaces the command gates and ``waits`` the waiting gates (an agent may add a
    waiting gate, never remove or change one)."""
    updated = actions.update(
        project,
        task_id,
        title=title,
        description=description,
        priority=priority,
        add_labels=add_labels or (),
        remove_labels=remove_labels or (),
        add_deps=add_depends_on or (),
        remove_deps=remove_depends_on or (),
        commands=None if gates is None else [Gate(c) for c in gates],
        waits=waits,
        parent=parent,
        caller=AGENT,
    )
    return updated.to_json()


def change(project: Project, task_id: str, action: str, **details: Any) -> dict[str, Any]:
    """``claim``, ``start`` or ``note``: one named change, as ``nexus task <action> --json``."""
    return actions.change(project, task_id, action, caller=AGENT, **details).to_json()


def run_gates(project: Project, task_id: str, complete: bool) -> dict[str, Any]:
    """``task_complete`` (moves the task only if every gate passes) or ``task_verify``.

    A failed gate raises :class:`~nexus_cli.mcp.recording.GatesFailed` carrying the same JSON
    (``passed: false`` and each gate's output tail), which the server reports as a tool error.
    """
    run = actions.complete if complete else actions.verify
    verification: Verification = run(project, task_id)
    result = verification.to_json()
    if not verification.passed:
        error = failure(verification, moved=complete)
        hint = "each gate's exit code and output tail follow; fix the cause, then call again"
        raise GatesFailed(error.message, hint, result)
    return result
