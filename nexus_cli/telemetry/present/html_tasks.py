"""The dashboard page's task, gate and workflow views, and its agent cost view.

Drawn from the ``stats --tasks/--gates/--workflows`` and ``stats --cost`` shapes
(docs/telemetry.md). Task titles, gate commands, workflow, stage, model and persona names are
repository or agent data: every value is HTML-escaped and shown as text, its control characters
made visible (``^[`` for ESC) as on a terminal.
Tables use a fixed layout and break long words, so a long gate command wraps instead of making
the page wider than the window (checked at 700 and 1,400 px in Chromium).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape
from typing import Any

from nexus_cli import terminal
from nexus_cli.telemetry.query.durations import human_ms

CSS = """
table.figures{width:100%;table-layout:fixed;border-collapse:collapse;font-size:13px}
table.figures th,table.figures td{text-align:left;padding:4px 6px;border-bottom:1px solid #e5e7eb;
overflow-wrap:anywhere;vertical-align:top}table.figures th{color:#6b7280;font-weight:600}
table.figures td.n,table.figures th.n{text-align:right}
.bar{display:inline-block;height:10px;background:#2563eb;border-radius:2px;vertical-align:middle}
"""


_CODE = re.compile(r"`([^`]+)`")


def _clean(text: str) -> str:
    """``text`` for the page: control characters made visible, then HTML-escaped."""
    return escape(terminal.escape(text, newlines=False))


def _code(text: str) -> str:
    """Our own text (never data) escaped, with `code` spans as ``<code>``."""
    return _CODE.sub(lambda m: f"<code>{m.group(1)}</code>", escape(text))


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
            f"<td{'' if i < names else ' class=n'}>{_clean(cell)}</td>"
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
        f"<tr><td>{_clean(status)}</td><td class=n>{n}</td>"
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


def tokens_text(n: int) -> str:
    """A token count in short: ``950``, ``12.3k``, ``4.56M``."""
    return f"{n / 1e6:.2f}M" if n >= 1_000_000 else f"{n / 1e3:.1f}k" if n >= 1000 else str(n)


def dollars_text(figures: dict[str, Any]) -> str:
    """``$4.50``, and ``+ unknown`` where some tokens were of a model without a price; an
    amount under a cent shows its first figures (``$0.0036``, not ``$0.00``)."""
    cost = figures["cost_usd"]
    text = f"${cost:.4f}" if 0 < cost < 0.01 else f"${cost:.2f}"
    return text if figures["cost_complete"] else f"{text} + unknown"


def has_usage(cost: dict[str, Any]) -> bool:
    """Whether any agent usage was recorded in the window (in this project, inside one)."""
    return bool(cost["total"]["tokens"] or cost["tasks"])


def outcome_rows(cost: dict[str, Any]) -> list[tuple[str, str, str, str, str, str]]:
    """Per outcome with tasks (verified, done unverified, abandoned, ...) and unattributed:
    name, tasks, tokens, cost, wall time, cost per task — the ``stats --cost`` first table."""
    rows = [
        (
            name.replace("_", " "),
            str(o["tasks"]),
            tokens_text(o["tokens"]),
            dollars_text(o),
            human_ms(o["wall_ms"]),
            dollars_text(o["per_task"]) if o["per_task"] else "-",
        )
        for name, o in cost["outcomes"].items()
        if o["tasks"]
    ]
    spare = cost["unattributed"]
    if spare["tokens"]:
        rows.append(
            ("unattributed", "-", tokens_text(spare["tokens"]), dollars_text(spare), "-", "-")
        )
    return rows


COST_TASKS = 20  # tasks listed in the cost view (the most expensive first)
NO_USAGE = (
    "No agent usage recorded in this window. Read Claude Code's session transcripts with "
    "`nexus telemetry ingest claude` (Codex's logs: `nexus telemetry ingest codex`), or point "
    "Claude Code's OpenTelemetry exporter at `nexus telemetry receive --listen 127.0.0.1:4318`; "
    "usage in a task's workspace worktree is attributed to that task (docs/telemetry.md)."
)


def _task_name(row: dict[str, Any]) -> str:
    return row["task_id"] or f"unknown task {row['task_hash'][:10]}"


def cost_view(cost: dict[str, Any] | None) -> str:
    """Agent cost from the ``stats --cost`` shape (:mod:`nexus_cli.tasks.agent_cost`): per
    outcome (verified versus abandoned work), per task, per persona and per model; with no usage
    recorded, how to record some. Nothing at all when ``cost`` is None (not gathered)."""
    if cost is None:
        return ""
    head = '<h2 id="cost">Agent cost: tokens, cost and wall time per task</h2>'
    outside = cost.get("outside_project")
    elsewhere = (
        f'<p class="muted">{tokens_text(outside["tokens"])} tokens ({dollars_text(outside)}) '
        "were spent in other projects in this window.</p>"
        if outside and outside["tokens"]
        else ""
    )
    if not has_usage(cost):
        return f'{head}<p class="muted" id="cost-empty">{_code(NO_USAGE)}</p>{elsewhere}'
    total = cost["total"]
    summary = (
        f'<p class="muted" id="cost-total">{tokens_text(total["tokens"])} tokens, '
        f"{escape(dollars_text(total))} in all · prices read "
        f"{_clean(str(cost['prices']['retrieved']))} · wall time: how long the task was claimed"
        f"{'' if total['cost_complete'] else ' · + unknown: tokens of a model without a price'}"
        "</p>"
    )
    tasks = [
        (
            _task_name(t),
            t["title"] or "",
            t["outcome"].replace("_", " "),
            t["persona"],
            ", ".join(t["models"]),
            tokens_text(t["tokens"]),
            dollars_text(t),
            human_ms(t["wall_ms"]),
        )
        for t in cost["tasks"][:COST_TASKS]
    ]
    more = len(cost["tasks"]) - COST_TASKS
    more_note = (
        f'<p class="muted">{more} more tasks: {_code("`nexus stats --cost --json` lists them all")}</p>'
        if more > 0
        else ""
    )
    personas = [
        (
            p["persona"],
            str(p["tasks"]),
            tokens_text(p["tokens"]),
            dollars_text(p),
            human_ms(p["wall_ms"]),
        )
        for p in cost["personas"]
    ]
    models = [
        (
            m["model"],
            tokens_text(m["input_tokens"]),
            tokens_text(m["output_tokens"]),
            tokens_text(m["cache_write_tokens"] + m["cache_read_tokens"]),
            dollars_text(m) if m["priced"] else "no price",
        )
        for m in cost["models"]
    ]
    return (
        head
        + summary
        + _table(
            "table-cost-outcomes",
            ("agent work", "tasks", "tokens", "cost", "wall time", "cost per task"),
            outcome_rows(cost),
            "no agent usage in this window",
            widths=(24,),
        )
        + '<h2 id="cost-tasks">Agent cost per task</h2>'
        + _table(
            "table-cost-tasks",
            ("task", "title", "outcome", "persona", "models", "tokens", "cost", "wall time"),
            tasks,
            "no agent usage attributed to a task in this window",
            widths=(11, 21, 12, 10, 14),
        )
        + more_note
        + '<h2 id="cost-personas">Agent cost per persona</h2>'
        + _table(
            "table-cost-personas",
            ("persona", "tasks", "tokens", "cost", "wall time"),
            personas,
            "no agent usage attributed to a task in this window",
        )
        + '<h2 id="cost-models">Agent cost per model</h2>'
        + _table(
            "table-cost-models",
            ("model", "input", "output", "cache", "cost"),
            models,
            "no agent usage in this window",
        )
        + elsewhere
    )
