"""The cron-friendly insights report: Markdown or JSON, no colour, no prompts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nexus_cli import __version__, jsonio
from nexus_cli.telemetry.present.machine import report_json
from nexus_cli.telemetry.query.durations import human_ms


def build(stats: dict[str, Any], patterns: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "nexus_version": __version__,
        "stats": stats,
        "insights": patterns,
    }


def to_json(report: dict[str, Any]) -> str:
    """The report as JSON, with the timestamps of the JSON contract (RFC 3339 UTC, ``Z``)."""
    return jsonio.dumps_output(report_json(report), indent=2) + "\n"


def to_markdown(report: dict[str, Any]) -> str:
    s = report["stats"]
    rate = "-" if s["success_rate"] is None else f"{s['success_rate'] * 100:.1f}%"
    lines = [
        "# Nexus insights report",
        "",
        f"Window: {s['window']['since'][:16]} to {s['window']['until'][:16]} UTC "
        f"· generated {report['generated_at']} · nexus {report['nexus_version']}",
        "",
        "## Summary",
        "",
        "| figure | value |",
        "|---|---|",
        f"| invocations | {s['invocations']} |",
        f"| success rate | {rate} |",
        f"| errors | {s['errors']} |",
        f"| sessions | {s['sessions']} (average {human_ms(s['avg_session_ms'])}) |",
        f"| workspaces created | {s['workspaces_created']} |",
        f"| tasks completed | {s['tasks_completed']} |",
        "",
        "## Commands (interactive ones excluded from timings)",
        "",
        "| command | runs | errors | median | p95 |",
        "|---|---:|---:|---:|---:|",
    ]
    for c in s["commands"][:15]:
        lines.append(
            f"| {c['command']} | {c['invocations']} | {c['errors']} | "
            f"{human_ms(c['median_ms'])} | {human_ms(c['p95_ms'])} |"
        )
    lines += ["", "## Insights", ""]
    if not report["insights"]:
        lines.append("No patterns detected in this window.")
    for p in report["insights"]:
        lines += [
            f"- **{p['pattern_type']}**: {p['description']} "
            f"(seen {p['frequency']}x, {p['first_seen'][:10]} to {p['last_seen'][:10]})",
            f"  - suggestion: {p['suggested_fix']}",
        ]
    return "\n".join(lines) + "\n"
