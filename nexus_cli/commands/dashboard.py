"""``nexus dashboard``: the usage dashboard in the terminal (Rich), live, or as one HTML file."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from nexus_cli.commands.options import shown_default_option
from nexus_cli.output import emit_json, json_option

if TYPE_CHECKING:
    from rich.console import RenderableType


def _gather(days: int) -> dict[str, Any]:
    from nexus_cli.telemetry import dashboard, retention, store

    with store.opened() as db:
        retention.apply_daily(db)
        return dashboard.collect(db, days)


def _renderable(data: dict[str, Any]) -> RenderableType:
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table

    from nexus_cli.commands.stats import ms

    s = data["stats"]
    rate = "-" if s["success_rate"] is None else f"{s['success_rate'] * 100:.1f}%"
    figures = Table.grid(padding=(0, 3))
    figures.add_row(
        "Workspaces created",
        str(s["workspaces_created"]),
        "Tasks completed",
        str(s["tasks_completed"]),
    )
    figures.add_row("Avg session", ms(s["avg_session_ms"]), "Success rate", rate)
    figures.add_row("Invocations", str(s["invocations"]), "Sessions", str(s["sessions"]))
    templates = Table("template", "uses", box=None)
    for t in s["top_templates"][:5]:
        templates.add_row(t["template"], str(t["count"]))
    issues = Table("issue", "count", box=None)
    for category, count in list(s["error_categories"].items())[:5]:
        issues.add_row(category, str(count))
    timings = Table("command", "median", "p95", box=None)
    for c in data["timings"][:8]:
        timings.add_row(c["command"], ms(c["median_ms"]), ms(c["p95_ms"]))
    tips = Group(
        *[f"• {p['description']}\n  → {p['suggested_fix']}" for p in data["insights"][:5]]
        or ["no patterns detected"]
    )
    title = f"Nexus dashboard · last {data['days']} days · {data['generated_at']}"
    return Group(
        Panel(figures, title=title, expand=False),
        Panel(templates, title="Top templates", expand=False),
        Panel(issues, title="Common issues", expand=False),
        Panel(timings, title="Command timings (interactive excluded)", expand=False),
        Panel(tips, title="Insights", expand=False),
    )


def _watch(days: int, interval: float) -> None:
    """Redraw in place on a terminal; when piped, print each refresh one after another."""
    import time

    from rich.live import Live

    from nexus_cli.output import console

    out = console()
    try:
        if not out.is_terminal:
            while True:
                out.print(_renderable(_gather(days)))
                out.file.flush()
                time.sleep(interval)
        with Live(_renderable(_gather(days)), console=out, auto_refresh=False) as live:
            while True:
                time.sleep(interval)
                live.update(_renderable(_gather(days)), refresh=True)
    except KeyboardInterrupt:
        return


@click.command()
@shown_default_option("--days", click.IntRange(1, 3650), 30, "How many days to show.")
@click.option("--watch", is_flag=True, help="Refresh live until Ctrl-C (interactive).")
@shown_default_option(
    "--interval", click.FloatRange(0.2), 5.0, "Seconds between refreshes with --watch."
)
@click.option("--html", "html_file", metavar="FILE", help="Write one self-contained HTML page.")
@click.option("--force", is_flag=True, help="Replace an existing --html file.")
@json_option
def dashboard(
    days: int, watch: bool, interval: float, html_file: str | None, force: bool, as_json: bool
) -> None:
    """Workspaces created, tasks completed, sessions, success rate, templates, issues, insights."""
    from nexus_cli.telemetry.invocation import note

    note(event_type="telemetry")
    if watch:
        _watch(days, interval)
        return
    data = _gather(days)
    if html_file:
        from nexus_cli.telemetry import files, html

        path = files.write_text(html_file, html.render(data), force=force)
        click.echo(f"dashboard written to {path}", err=True)
    elif as_json:
        emit_json(data)
    else:
        from nexus_cli.output import console

        console().print(_renderable(data))
