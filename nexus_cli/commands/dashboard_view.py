"""The terminal dashboard's layout: every panel's essentials at 80×24, the width used at 160+.

Rendering only (Rich, no Click): ``nexus dashboard`` prints :func:`static`; ``--watch`` shows
:func:`screen` in the alternate screen, sized to the terminal, with a footer that says how to
quit. Data shown here comes from the telemetry database and the insights it computes: it is
escaped before Rich sees it (``terminal.escape_markup``), and `code` in backticks is styled.

The agent cost panel (``data["cost"]``, the ``stats --cost`` shape) is in every printed
dashboard; ``--watch`` shows it under the insights from :data:`COST_HEIGHT` rows, so that at
80×24 the other panels keep their essentials.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.layout import Layout
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from nexus_cli.output import code_markup
from nexus_cli.telemetry.present.html_tasks import has_usage
from nexus_cli.telemetry.query.durations import human_ms
from nexus_cli.terminal import escape, escape_markup

WIDE = 120  # from this width the panels sit side by side in two columns
COST_HEIGHT = 36  # from this height --watch adds the agent cost panel under the insights
NO_USAGE = (
    "no agent usage recorded: `nexus telemetry ingest claude` (or `codex`), or "
    "`nexus telemetry receive` for Claude Code's OpenTelemetry export"
)


def ms(value: float | None) -> str:
    return human_ms(value)


def _summary(data: dict[str, Any], width: int) -> Table:
    s = data["stats"]
    rate = "-" if s["success_rate"] is None else f"{s['success_rate'] * 100:.1f}%"
    pairs = [
        ("Invocations", str(s["invocations"])),
        ("Success rate", rate),
        ("Sessions", str(s["sessions"])),
        ("Avg session", ms(s["avg_session_ms"])),
        ("Workspaces created", str(s["workspaces_created"])),
        ("Tasks completed", str(s["tasks_completed"])),
    ]
    per_row = 6 if width >= WIDE else 3
    grid = Table.grid(padding=(0, 1), expand=True)
    for _ in range(per_row):
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(style="bold", no_wrap=True)
    for start in range(0, len(pairs), per_row):
        row: list[str] = []
        for label, value in pairs[start : start + per_row]:
            row += [label, value]
        grid.add_row(*row)
    return grid


def _timings(data: dict[str, Any], rows: int, *, runs: bool = True) -> Table:
    table = Table(box=None, expand=True, pad_edge=False)
    table.add_column("command", overflow="ellipsis", no_wrap=True, ratio=1)
    for name in ("median", "p95", *(("runs",) if runs else ())):
        table.add_column(name, justify="right", no_wrap=True)
    for c in data["timings"][: max(rows, 1)]:
        cells = [escape_markup(c["command"]), ms(c["median_ms"]), ms(c["p95_ms"])]
        table.add_row(*cells, *((str(c["invocations"]),) if runs else ()))
    if not data["timings"]:
        table.add_row("no timed commands yet", "", "", *(("",) if runs else ()))
    return table


def _insights(data: dict[str, Any], limit: int) -> RenderableType:
    found = data["insights"][:limit]
    if not found:
        return Text("no patterns detected", style="dim")
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=1, no_wrap=True)
    grid.add_column(ratio=1)
    for p in found:
        text = f"{code_markup(p['description'])}\n[green]→[/] {code_markup(p['suggested_fix'])}"
        grid.add_row("•", Text.from_markup(text))
    return grid


def _small_table(title: str, rows: list[tuple[str, str]], limit: int) -> Table:
    table = Table(box=None, expand=True, pad_edge=False)
    table.add_column(title, overflow="ellipsis", no_wrap=True, ratio=1)
    table.add_column("n", justify="right", no_wrap=True)
    for name, count in rows[:limit] or [("none", "")]:
        table.add_row(escape_markup(name), count)
    return table


def _lists(data: dict[str, Any]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    s = data["stats"]
    templates = [(t["template"], str(t["count"])) for t in s["top_templates"]]
    issues = [(k, str(v)) for k, v in s["error_categories"].items()]
    return templates, issues


SHORT_OUTCOMES = {"done_unverified": "unverified", "in_progress": "in progress"}


def _dollars(figures: dict[str, Any] | None) -> str:
    """``$4.50``, ``$4.50+?`` where some tokens had no price (the panel's last row says so)."""
    if not figures:
        return "-"
    return f"${figures['cost_usd']:.2f}{'' if figures['cost_complete'] else '+?'}"


def cost_rows(cost: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """Per outcome with tasks, and unattributed usage: name, tasks, cost, cost per task."""
    rows = [
        (SHORT_OUTCOMES.get(name, name), str(o["tasks"]), _dollars(o), _dollars(o["per_task"]))
        for name, o in cost["outcomes"].items()
        if o["tasks"]
    ]
    if cost["unattributed"]["tokens"]:
        rows.append(("unattributed", "-", _dollars(cost["unattributed"]), "-"))
    return rows


def _cost(data: dict[str, Any]) -> RenderableType:
    """Per outcome (verified, abandoned, ...): tasks, cost, cost per task (``each``); the
    costliest model. Short enough for half of an 80-column screen."""
    cost = data["cost"]
    grid = Table.grid(expand=True)
    grid.add_column(ratio=1)  # wraps in a cell even where the console does not soft-wrap
    if not has_usage(cost):
        grid.add_row(Text.from_markup(code_markup(NO_USAGE), style="dim"))
        return grid
    table = Table(box=None, expand=True, pad_edge=False, padding=(0, 0, 0, 1))
    table.add_column("agent work", overflow="ellipsis", no_wrap=True, ratio=1, min_width=8)
    for name in ("tasks", "cost", "each"):
        table.add_column(name, justify="right", no_wrap=True)
    for row in cost_rows(cost):
        table.add_row(*row)
    grid.add_row(table)
    if cost["models"]:
        top = max(cost["models"], key=lambda m: (m["cost_usd"], m["tokens"]))
        spent = _dollars(top) if top["priced"] else "no price"
        grid.add_row(
            Text(
                f"top model {escape(top['model'], newlines=False)}: {spent}",
                no_wrap=True,
                overflow="ellipsis",
            )
        )
    if not cost["total"]["cost_complete"]:
        grid.add_row(Text("+? tokens of a model without a price", style="dim"))
    return grid


def _cost_panel(data: dict[str, Any]) -> Panel:
    return Panel(_cost(data), title="Agent cost (stats --cost)")


def title(data: dict[str, Any]) -> str:
    return f"Nexus dashboard · last {data['days']} days · {data['generated_at']}"


def static(data: dict[str, Any], width: int) -> RenderableType:
    """The dashboard for one print: two columns on wide terminals, one column otherwise."""
    templates, issues = _lists(data)
    summary = Panel(_summary(data, width), title=title(data), title_align="left")
    timings = Panel(_timings(data, 10), title="Command timings (interactive excluded)")
    tips = Panel(_insights(data, 5), title="Insights")
    small = Table.grid(expand=True, padding=(0, 2))
    small.add_column(ratio=1)
    small.add_column(ratio=1)
    small.add_row(
        _small_table("Top templates", templates, 5), _small_table("Common issues", issues, 5)
    )
    extras = Panel(small, title="Templates and issues")
    cost = [_cost_panel(data)] if "cost" in data else []
    if width < WIDE:
        return Group(summary, timings, tips, extras, *cost)
    grid = Table.grid(expand=True, padding=(0, 1))
    grid.add_column(ratio=1)
    grid.add_column(ratio=1)
    grid.add_row(Group(timings, extras), Group(tips, *cost))
    return Group(summary, grid)


def screen(data: dict[str, Any], width: int, height: int, interval: float) -> Layout:
    """The live dashboard, exactly ``width`` × ``height``, with a footer saying how to quit."""
    templates, issues = _lists(data)
    wide = width >= WIDE
    summary_rows = 1 if wide else 2
    small_rows = max(min(5, (height - 14) // 3), 1)
    root = Layout()
    root.split_column(
        Layout(name="summary", size=summary_rows + 2),
        Layout(name="body", ratio=1),
        Layout(name="footer", size=1),
    )
    root["summary"].update(
        Panel(_summary(data, width), title=title(data), title_align="left", padding=(0, 1))
    )
    root["footer"].update(
        Text(f" q quit · Ctrl-C quit · refreshes every {interval:g}s", style="reverse")
    )
    body_height = height - summary_rows - 3
    extras_height = small_rows + 3
    left = Layout(name="left")
    left.split_column(
        Layout(name="timings", ratio=1),
        Layout(name="extras", size=extras_height),
    )
    timing_rows = max(body_height - extras_height - 3, 1)
    left["timings"].update(Panel(_timings(data, timing_rows, runs=wide), title="Command timings"))
    small = Table.grid(expand=True, padding=(0, 2))
    small.add_column(ratio=1)
    small.add_column(ratio=1)
    small.add_row(
        _small_table("Top templates", templates, small_rows),
        _small_table("Common issues", issues, small_rows),
    )
    left["extras"].update(Panel(small, title="Templates and issues"))
    insight_count = 6 if wide and height >= 40 else 3
    right = Layout(Panel(_insights(data, insight_count), title="Insights"), name="right")
    if "cost" in data and height >= COST_HEIGHT:
        tips = Layout(Panel(_insights(data, insight_count), title="Insights"), ratio=1)
        spent = Layout(_cost_panel(data), size=max(len(cost_rows(data["cost"])) + 5, 6))
        right = Layout(name="right")
        right.split_column(tips, spent)
    root["body"].split_row(left, right)
    right.ratio = 1
    left.ratio = 1
    return root
