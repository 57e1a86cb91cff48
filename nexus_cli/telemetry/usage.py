"""The usage reports every front end offers: ``stats`` and ``insights`` for a window, and the
``dashboard``.

The one implementation behind ``nexus stats --json``, ``nexus insights --json``, ``nexus
dashboard`` and the MCP tools ``stats`` and ``insights`` (ADR 0007): open the telemetry database
(folding the journal), apply the daily retention, compute, and return a result whose
``to_json()`` is the machine shape (docs/schemas/v1/stats.schema.json, insights.schema.json,
dashboard.schema.json). It only calls the readers in ``telemetry/query`` and the output boundary
in ``telemetry/present``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nexus_cli import validate
from nexus_cli.telemetry.db import retention, store
from nexus_cli.telemetry.journal.invocation import note
from nexus_cli.telemetry.journal.privacy import hash_name
from nexus_cli.telemetry.present import files, html
from nexus_cli.telemetry.present.machine import (
    dashboard_json,
    insights_json,
    stats_json,
    window_json,
)
from nexus_cli.telemetry.query import dashboard as dashboard_query
from nexus_cli.telemetry.query import insights as insights_logic
from nexus_cli.telemetry.query import stats as stats_logic
from nexus_cli.telemetry.query import window as windows
from nexus_cli.telemetry.query.window import Window

PRESETS = ("today", "week", "month")
STATS_DAYS = 7
INSIGHTS_DAYS = 30
GROUPS = ("slow", "errors", "improvements")


def window_from_text(text: str, default_days: float) -> Window:
    """A window written as one text (the MCP argument): ``today``, ``week``, ``month``, a
    relative age (``7d``, ``12h``) or a date; empty: the last ``default_days``."""
    value = text.strip()
    if value in PRESETS:
        return windows.resolve(
            today=value == "today",
            week=value == "week",
            month=value == "month",
            default_days=default_days,
        )
    return windows.resolve(since=value or None, default_days=default_days)


@dataclass(frozen=True)
class Stats:
    figures: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return stats_json(self.figures)


@dataclass(frozen=True)
class Insights:
    window: Window
    patterns: list[Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "window": window_json(self.window.to_dict()),
            "insights": insights_json(self.patterns),
        }


def stats(window: Window, *, workspace: str | None = None, exact: bool = False) -> Stats:
    """Invocations, success rate, sessions and timings in ``window`` (only invocations about
    ``workspace`` when given; exact percentiles from raw events with ``exact``)."""
    note(event_type="telemetry")
    ws_hash = hash_name(validate.workspace_name(workspace), kind="workspace") if workspace else None
    with store.opened() as db:
        retention.apply_daily(db)
        return Stats(stats_logic.compute(db, window, ws_hash, exact=exact))


def insights(window: Window, *, groups: set[str] | None = None, exact: bool = False) -> Insights:
    """The patterns detected in ``window`` (only those of ``groups`` when given)."""
    note(event_type="telemetry")
    with store.opened() as db:
        retention.apply_daily(db)
        return Insights(window, insights_logic.run(db, window, groups or None, exact=exact))


@dataclass(frozen=True)
class Dashboard:
    figures: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return dashboard_json(self.figures)

    def to_html(
        self, history: dict[str, Any] | None = None, cost: dict[str, Any] | None = None
    ) -> str:
        """The HTML page; ``history``: the task, gate and workflow views' figures; ``cost``: the
        agent cost view's (the ``stats --cost`` shape)."""
        figures = dict(self.figures)
        if history is not None:
            figures["history"] = history
        if cost is not None:
            figures["cost"] = cost
        return html.render(figures)


def dashboard(days: int) -> Dashboard:
    """Workspaces, tasks, sessions, success rate, templates, issues and insights of the last
    ``days`` days (the terminal view, ``--json`` and the HTML page draw the same figures)."""
    note(event_type="telemetry")
    with store.opened() as db:
        retention.apply_daily(db)
        return Dashboard(dashboard_query.collect(db, days))


def write_dashboard_html(
    days: int,
    path: str,
    *,
    force: bool = False,
    history: dict[str, Any] | None = None,
    cost: dict[str, Any] | None = None,
) -> str:
    """The dashboard as one self-contained HTML page written to ``path`` (0600; an existing file
    only with ``force``), with the task views of ``history`` and the cost view of ``cost`` when
    given. Returns the absolute path."""
    return files.write_text(path, dashboard(days).to_html(history, cost), force=force)
