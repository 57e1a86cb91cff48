"""Read-only tools of ``nexus mcp``: personas, usage statistics, insights, GPU impact.

No tool here changes anything: GPU signal actions stay on the command line, where a person
confirms them.
"""

from __future__ import annotations

from typing import Any

from nexus_cli.errors import UsageError
from nexus_cli.project import Project
from nexus_cli.telemetry.journal import invocation

PRESETS = ("today", "week", "month")


def persona_list(project: Project) -> list[dict[str, Any]]:
    from nexus_cli.personas.catalog import load_all
    from nexus_cli.personas.installer import project_scope

    return [
        {
            "name": p.name,
            "display_name": p.display_name,
            "description": p.description,
            "origin": p.origin,
            "extends": p.extends,
            "levels": list(p.levels),
            "default_level": p.default_level,
        }
        for p in load_all(project_scope(project.root).search())
    ]


def persona_current(project: Project) -> list[dict[str, Any]]:
    from nexus_cli.personas.installer import active_rows, project_scope

    return active_rows(project_scope(project.root))


def _window(window: str, default_days: float) -> Any:
    from nexus_cli.telemetry.query import window as windows

    text = window.strip()
    if text in PRESETS:
        return windows.resolve(
            today=text == "today",
            week=text == "week",
            month=text == "month",
            default_days=default_days,
        )
    if not text:
        return windows.resolve(default_days=default_days)
    return windows.resolve(since=text, default_days=default_days)


def stats(window: str = "week") -> dict[str, Any]:
    from nexus_cli.telemetry.db import retention, store
    from nexus_cli.telemetry.query import stats as stats_logic

    resolved = _window(window, 7)
    with store.opened() as db:
        retention.apply_daily(db)
        data: dict[str, Any] = stats_logic.compute(db, resolved, None)
    from nexus_cli.telemetry.present.machine import stats_json

    return stats_json(data)


def insights(window: str = "month") -> dict[str, Any]:
    from nexus_cli.telemetry.db import retention, store
    from nexus_cli.telemetry.query import insights as logic

    resolved = _window(window, 30)
    with store.opened() as db:
        retention.apply_daily(db)
        patterns = logic.run(db, resolved, None)
    from nexus_cli.telemetry.present.machine import insights_json, window_json

    return {"window": window_json(resolved.to_dict()), "insights": insights_json(patterns)}


def gpu_impact(pid: int) -> dict[str, Any]:
    from nexus_cli.gpu.impact import analyze_with_gpu

    if pid <= 0:
        raise UsageError(f"pid must be a positive process id, not {pid}")
    invocation.note(event_type="gpu")
    data: dict[str, Any] = analyze_with_gpu(pid, []).to_dict()
    return data
