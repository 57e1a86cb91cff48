"""Read-only tools of ``nexus mcp``: personas, usage statistics, insights, GPU impact.

Adapters over the cores in :mod:`nexus_cli.personas.listing`, :mod:`nexus_cli.telemetry.usage`
and :mod:`nexus_cli.gpu.impact`; each returns the core result's JSON, the same as the matching
``--json`` command (ADR 0007). No tool here changes anything: GPU signal actions stay on the
command line, where a person confirms them.
"""

from __future__ import annotations

from typing import Any

from nexus_cli.gpu.impact import impact_report
from nexus_cli.personas import listing
from nexus_cli.project import Project
from nexus_cli.tasks import agent_cost
from nexus_cli.telemetry import usage
from nexus_cli.workflows import history


def persona_list(project: Project) -> list[dict[str, Any]]:
    return listing.list_personas(listing.scope_for(project.root)).to_json()


def persona_current(project: Project) -> list[dict[str, Any]]:
    return listing.current(listing.scope_for(project.root)).to_json()


def stats(project: Project, window: str = "week", cost: bool = False) -> dict[str, Any]:
    span = usage.window_from_text(window, usage.STATS_DAYS)
    data = usage.stats(span).to_json()
    if cost:
        data["cost"] = agent_cost.cost_in(span, project)
    return data


def insights(window: str = "month") -> dict[str, Any]:
    return history.usage_insights(usage.window_from_text(window, usage.INSIGHTS_DAYS)).to_json()


def gpu_impact(pid: int) -> dict[str, Any]:
    return impact_report(pid).to_dict()
