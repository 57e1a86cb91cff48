"""The dashboard page's task, gate and workflow views, and the place for a cost view.

Drawn from the ``stats --tasks/--gates/--workflows`` shapes (docs/telemetry.md). Gate commands,
workflow and stage names are repository content: every value is HTML-escaped and shown as text.
Tables use a fixed layout and break long words, so a long gate command wraps instead of making
the page wider than the window (checked at 700 and 1,400 px in Chromium).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from nexus_cli.telemetry.query.durations import human_ms

CSS = """
table.figures{width:100%;table-layout:fixed;border-collapse:collapse;font-size:13px}
table.figures th,table.figures td{text-align:left;padding:4px 6px;border-bottom:1px solid #e5e7eb;
overflow-wrap:anywhere;vertical-align:top}table.figures th{color:#6b7280;font-weight:600}
table.figures td.n,table.figures th.n{text-align:right}
.bar{display:inline-block;height:10px;background:#2563eb;border-radius:2px;vertical-align:middle}
"""


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _number(value: Any) -> str:
    return "-" if value is None else str(value)


def _table(
    table_id: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    empty: str,
    widths: Sequence[int] = (34,),
) -> str:
    """A table whose first ``len(widths)`` columns are text (escaped; ``widths`` in percent of
    the table) and the rest figures, sharing what is left."""
    if not rows:
        return f'<p class="muted" id="{table_id}">{escape(empty)}</p>'
    names = len(widths)
    cols = "".join(
        f'<col style="width:{widths[i]}%">' if i < names else "<col>" for i in range(len(columns))
    )
    head = "".join(
        f"<th{'' if i < names else ' class=n'}>{escape(c)}</th>" for i, c in enumerate(columns)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{'' if i < names else ' class=n'}>{escape(cell)}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return (
        f'<table class="figures" id="{table_id}"><colgroup>{cols}</colgroup>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def _statuses(tasks: dict[str, Any]) -> str:
    by_status: dict[str, int] = tasks.get("by_status", {})
    peak = max(by_status.values(), default=0) or 1
    rows = "".join(
        f"<tr><td>{escape(status)}</td><td class=n>{n}</td>"
        f'<td><span class="bar" style="width:{100 * n / peak:.0f}%"></span></td></tr>'
        for status, n in by_status.items()
    )
    if not rows:
        return '<p class="muted" id="table-task-status">no tasks in this project</p>'
    return (
        '<table class="figures" id="table-task-status"><colgroup><col style="width:34%"><col>'
        '<col style="width:50%"></colgroup><thead><tr><th>status</th><th class=n>tasks</th>'
        f"<th></th></tr></thead><tbody>{rows}</tbody></table>"
        f'<p class="muted">iterations per task {escape(_number(tasks["iterations_per_task"]))}'
        f" · first-try pass rate {_rate(tasks['first_try_pass_rate'])} · claim to done p50 "
        f"{human_ms(tasks['claim_to_done_p50_ms'])}, p95 {human_ms(tasks['claim_to_done_p95_ms'])}"
        "</p>"
    )


def task_views(history: dict[str, Any]) -> str:
    """Tasks per status, gates, workflow stages and workflow runs (sections with headings)."""
    gates = [
        (
            g["gate"],
            str(g["runs"]),
            _rate(g["pass_rate"]),
            _rate(g["first_try_pass_rate"]),
            f"{g['flaky_passes']}/{g['passes_after_failure']}",
            human_ms(g["p95_ms"]),
        )
        for g in history.get("gates", [])
    ]
    stages = [
        (
            w["workflow"],
            w["stage"],
            f"{w['done']}/{w['tasks']}",
            _number(w["iterations_per_task"]),
            _rate(w["first_try_pass_rate"]),
            human_ms(w["claim_to_done_p50_ms"]),
            human_ms(w["claim_to_done_p95_ms"]),
        )
        for w in history.get("workflows", [])
    ]
    runs = [
        (
            r["workflow"],
            f"{r['completed']}/{r['runs']}",
            human_ms(r["duration_p50_ms"]),
            human_ms(r["duration_p95_ms"]),
            human_ms(r["resolution_p50_ms"]) if r["incident"] else "",
        )
        for r in history.get("workflow_runs", [])
    ]
    busiest = [
        (t["id"], t["title"], t["status"], str(t["iterations"]))
        for t in history.get("busiest_tasks", [])
    ]
    return (
        '<h2 id="tasks">Tasks per status</h2>'
        + _statuses(history.get("tasks", {"by_status": {}}))
        + '<h2 id="busiest-tasks">Tasks with the most iterations</h2>'
        + _table(
            "table-busiest",
            ("task", "title", "status", "iterations"),
            busiest,
            "no task needed more than one run of its gates",
            widths=(16, 46, 14),
        )
        + '<h2 id="gates">Gates: pass rate, first try, flaky passes, p95</h2>'
        + _table(
            "table-gates",
            ("gate", "runs", "pass", "first try", "flaky", "p95"),
            gates,
            "no gate runs in this project's task history",
        )
        + '<h2 id="workflows">Workflow stages: iterations and claim to done</h2>'
        + _table(
            "table-stages",
            ("workflow", "stage", "done", "iterations", "first try", "p50", "p95"),
            stages,
            "no workflow stages in this project's task history",
            widths=(22, 16),
        )
        + '<h2 id="workflow-runs">Workflow runs: first claim to last done</h2>'
        + _table(
            "table-runs",
            ("workflow", "completed", "p50", "p95", "resolution p50"),
            runs,
            "no workflow runs in this project's task history",
        )
    )


def cost_view(rows: list[dict[str, Any]]) -> str:
    """Where a cost view plugs in: one table of ``rows`` (all with the same keys, in order:
    the first is the name, e.g. task or model; the others its figures), or nothing at all
    when there are no rows. Nexus passes none until agent cost is recorded."""
    if not rows:
        return ""
    columns = list(rows[0])
    body = [tuple(_number(row.get(c)) for c in columns) for row in rows]
    return '<h2 id="cost">Cost</h2>' + _table("table-cost", columns, body, "", widths=(30,))
