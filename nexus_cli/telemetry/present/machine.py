"""Telemetry figures as machine output (``--json`` and MCP): the stored timestamps made RFC 3339.

The readers in ``telemetry/query`` return timestamps as the database stores them
(``2026-11-30 17:59:00.436``); these functions are the output boundary that turns them into the
one format of the JSON contract (``2026-11-30T17:59:00.436Z``, see docs/json.md) without
changing any figure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nexus_cli.timefmt import with_rfc3339


def window_json(window: Mapping[str, Any]) -> dict[str, Any]:
    return with_rfc3339(window, ("since", "until"))


def stats_json(data: Mapping[str, Any]) -> dict[str, Any]:
    """``nexus stats --json``."""
    out = dict(data)
    if isinstance(out.get("window"), Mapping):
        out["window"] = window_json(out["window"])
    return out


def insight_json(pattern: Any) -> dict[str, Any]:
    row = pattern.to_dict() if hasattr(pattern, "to_dict") else dict(pattern)
    return with_rfc3339(row, ("first_seen", "last_seen"))


def insights_json(patterns: list[Any]) -> list[dict[str, Any]]:
    return [insight_json(p) for p in patterns]


def dashboard_json(data: Mapping[str, Any]) -> dict[str, Any]:
    """``nexus dashboard --json``: ``generated_at``, the stats window and the insights."""
    out = with_rfc3339(data, ("generated_at",))
    out["stats"] = stats_json(data["stats"])
    out["insights"] = insights_json(list(data.get("insights", [])))
    return out


def report_json(report: Mapping[str, Any]) -> dict[str, Any]:
    """``nexus insights --report --format json``."""
    out = with_rfc3339(report, ("generated_at",))
    out["stats"] = stats_json(report["stats"])
    out["insights"] = insights_json(list(report.get("insights", [])))
    return out


def status_json(info: Mapping[str, Any]) -> dict[str, Any]:
    """``nexus telemetry status --json``: the oldest and newest event, the salt's regeneration."""
    out = with_rfc3339(info, ("oldest", "newest"))
    if isinstance(out.get("salt_regenerated"), Mapping):
        out["salt_regenerated"] = with_rfc3339(out["salt_regenerated"], ("regenerated_at",))
    return out


def sync_mark_json(mark: Mapping[str, Any]) -> dict[str, Any]:
    """``nexus sync status --json``: when the last batch was accepted."""
    return with_rfc3339(mark, ("last_sync_at",))
