"""The task, gate and workflow figures and insights of the current project, for every front end.

The one place that knows both the task history (:mod:`nexus_cli.tasks.metrics`,
:mod:`nexus_cli.tasks.workflow_runs`, :mod:`nexus_cli.tasks.history_insights`) and the workflow
files (which of them are incident workflows: ``kind: incident``). ``stats``, ``insights`` and
``dashboard`` call these; outside a project they find no tasks and report nothing.
"""

from __future__ import annotations

from typing import Any

from nexus_cli.errors import NotAProjectError
from nexus_cli.project import find_project
from nexus_cli.tasks import agent_cost, history_insights, metrics, workflow_runs
from nexus_cli.tasks.model import Task
from nexus_cli.telemetry import usage
from nexus_cli.telemetry.query import dashboard as dashboard_query
from nexus_cli.telemetry.query.patterns import Pattern
from nexus_cli.telemetry.query.window import Window
from nexus_cli.workflows.catalog import incident_names

BUSIEST = 8  # tasks listed in the dashboard's "most iterations" table


def incident_workflows() -> set[str]:
    """The incident workflows visible from the current directory (project and shipped)."""
    try:
        root = find_project().root
    except NotAProjectError:
        root = None
    return incident_names(root)


def stats(*, tasks: bool, gates: bool, workflows: bool) -> dict[str, Any]:
    """``stats --tasks/--gates/--workflows``: :func:`nexus_cli.tasks.metrics.history_stats` and,
    with ``workflows``, ``workflow_runs`` (per workflow: runs, duration, time to resolution)."""
    found = metrics.project_tasks() if tasks or gates or workflows else []
    result = metrics.history_stats(tasks=tasks, gates=gates, workflows=workflows, found=found)
    if workflows:
        result["workflow_runs"] = workflow_runs.run_figures(found, incident_workflows())
    return result


def insights(groups: set[str] | None = None) -> list[Pattern]:
    """The task-history insights (only those of ``groups`` when given)."""
    tasks = metrics.project_tasks()
    if not tasks:
        return []  # no history: no workflow file needs reading
    found = history_insights.detect(tasks, incident_workflows())
    return [p for p in found if not groups or p.group in groups]


def usage_insights(
    window: Window, *, groups: set[str] | None = None, exact: bool = False
) -> usage.Insights:
    """``nexus insights`` and the MCP tool ``insights``: the telemetry's patterns in ``window``
    (kept in its ``patterns`` table) followed by the task-history insights."""
    found = usage.insights(window, groups=groups, exact=exact)
    found.patterns.extend(p.to_dict() for p in insights(groups))
    return found


def dashboard(tasks: list[Task] | None = None) -> dict[str, Any]:
    """What the dashboard's task, gate and workflow views draw (the ``stats`` shapes), the
    busiest tasks and the task-history insights (listed with the telemetry's)."""
    found = metrics.project_tasks() if tasks is None else tasks
    result = metrics.history_stats(tasks=True, gates=True, workflows=True, found=found)
    incidents = incident_workflows()
    result["workflow_runs"] = workflow_runs.run_figures(found, incidents)
    result["busiest_tasks"] = busiest_tasks(found)
    result["insights"] = [p.to_dict() for p in history_insights.detect(found, incidents)]
    return result


def busiest_tasks(tasks: list[Task], limit: int = BUSIEST) -> list[dict[str, Any]]:
    """The tasks whose gates ran most often (two runs or more), most first: id, title, status
    and iterations (the title is repository text: the page escapes it)."""
    ranked = sorted(
        ((metrics.iterations(t), t) for t in tasks), key=lambda pair: (-pair[0], pair[1].id)
    )
    return [
        {"id": t.id, "title": t.title, "status": t.status, "iterations": n}
        for n, t in ranked[:limit]
        if n >= 2
    ]


def dashboard_cost(days: int) -> dict[str, Any]:
    """The dashboard's agent cost figures: ``stats --cost`` (:func:`agent_cost.cost_in`) for the
    dashboard's window of ``days`` days, for the current project (outside one: all usage)."""
    return agent_cost.cost_in(dashboard_query.window_of(days))


def write_dashboard_html(days: int, path: str, *, force: bool = False) -> str:
    """``nexus dashboard --html``: the telemetry's page with the task, gate and workflow views
    and the agent cost view."""
    return usage.write_dashboard_html(
        days, path, force=force, history=dashboard(), cost=dashboard_cost(days)
    )
