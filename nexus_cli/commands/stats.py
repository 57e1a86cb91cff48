"""``nexus stats``: invocations, success rate, sessions and command timings for a window."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

from nexus_cli.gpu import accounting
from nexus_cli.gpu.units import size as gpu_size
from nexus_cli.output import emit_json, json_option, print_table
from nexus_cli.tasks import agent_cost
from nexus_cli.telemetry import usage
from nexus_cli.telemetry.present.html_tasks import dollars_text, tokens_text
from nexus_cli.telemetry.query import window
from nexus_cli.telemetry.query.durations import human_ms
from nexus_cli.workflows import history as task_history

if TYPE_CHECKING:
    from nexus_cli.telemetry.query.window import Window

F = TypeVar("F", bound=Callable[..., Any])
TOP_ROWS = 20


def window_options(func: F) -> F:
    """``--today/--week/--month/--since/--until`` (shared by stats, insights, export)."""
    for option in reversed(
        [
            click.option("--today", is_flag=True, help="Since midnight UTC."),
            click.option("--week", is_flag=True, help="The last 7 days."),
            click.option("--month", is_flag=True, help="The last 30 days."),
            click.option("--since", metavar="DATE", help="YYYY-MM-DD[ HH:MM] UTC, or 7d / 12h."),
            click.option("--until", metavar="DATE", help="End (a date includes that whole day)."),
        ]
    ):
        func = option(func)
    return func


def resolve_window(options: dict[str, Any], default_days: float = 7) -> Window:
    return window.resolve(
        today=options.get("today", False),
        week=options.get("week", False),
        month=options.get("month", False),
        since=options.get("since"),
        until=options.get("until"),
        default_days=default_days,
    )


def ms(value: float | None) -> str:
    return human_ms(value)


def _render(data: dict[str, Any]) -> None:
    rate = "-" if data["success_rate"] is None else f"{data['success_rate'] * 100:.1f}%"
    click.echo(f"Nexus usage, {data['window']['label']}")
    rows = [
        ("invocations", data["invocations"]),
        ("success rate", rate),
        ("errors", data["errors"]),
        ("sessions", data["sessions"]),
        ("average session", ms(data["avg_session_ms"])),
        ("workspaces created", data["workspaces_created"]),
        ("tasks completed", data["tasks_completed"]),
    ]
    print_table(("figure", "value"), rows, right=("value",))
    commands = [
        (
            c["command"],
            c["invocations"],
            c["errors"],
            "interactive" if c["interactive"] else ms(c["median_ms"]),
            "" if c["interactive"] else ms(c["p95_ms"]),
        )
        for c in data["commands"]
    ]
    click.echo("")
    print_table(
        ("command", "runs", "errors", "median", "p95"),
        commands[:TOP_ROWS],
        empty="no invocations in this window",
        right=("median", "p95"),
    )
    if len(commands) > TOP_ROWS:
        click.echo(f"({len(commands) - TOP_ROWS} more commands; --json lists them all)", err=True)
    if data["top_templates"]:
        click.echo("")
        print_table(
            ("template", "uses"), [(t["template"], t["count"]) for t in data["top_templates"]]
        )
    if data["error_categories"]:
        click.echo("")
        print_table(("error category", "count"), list(data["error_categories"].items()))


@click.command()
@window_options
@click.option("--workspace", metavar="NAME", help="Only invocations about this workspace.")
@click.option(
    "--exact", is_flag=True, help="Percentiles from raw events (default: roll-ups, within 1%)."
)
@click.option(
    "--gpu", "gpu", is_flag=True, help="Also GPU-hours and peak GPU memory per task (sampled)."
)
@click.option(
    "--tasks", "tasks", is_flag=True, help="Also tasks per status, iterations, claim-to-done."
)
@click.option(
    "--gates", "gates", is_flag=True, help="Also per gate: runs, pass rate, first try, p50/p95."
)
@click.option(
    "--workflows",
    "workflows",
    is_flag=True,
    help="Also per workflow stage: tasks, iterations; per workflow: run duration.",
)
@click.option(
    "--cost",
    "cost",
    is_flag=True,
    help="Also agents' tokens, cost and wall time per task, persona, model and outcome.",
)
@json_option
def stats(
    workspace: str | None,
    exact: bool,
    gpu: bool,
    tasks: bool,
    gates: bool,
    workflows: bool,
    cost: bool,
    as_json: bool,
    **options: Any,
) -> None:
    """Invocations, success rate, sessions, median/p95 per command (default: last 7 days).

    Interactive commands (workspace shell, gpu monitor, dashboard --watch, workspace logs
    --follow) are counted but left out of the timings. Counts are exact; median and p95 come
    from roll-ups within 1% of the exact values unless --exact is given. --gpu adds each task's
    GPU-hours and peak GPU memory, sampled by `nexus gpu status`/`monitor` (docs/gpu.md).
    --tasks, --gates and --workflows add figures from the current project's task history (all
    of it; the window applies to the telemetry figures), explained in docs/telemetry.md.
    --cost adds what coding agents spent in the window (read by `nexus telemetry ingest` and
    `telemetry receive`): per task, persona and model, and per verified task vs abandoned work.
    """
    span = resolve_window(options)
    found = usage.stats(span, workspace=workspace, exact=exact)
    gpu_tasks = accounting.usage_by_task(_epoch(span.since), _epoch(span.until)) if gpu else []
    history = task_history.stats(tasks=tasks, gates=gates, workflows=workflows)
    spent = agent_cost.cost_in(span) if cost else None
    if as_json:
        data = found.to_json()
        if gpu:
            data["gpu"] = {"tasks": [t.to_dict() for t in gpu_tasks]}
        if spent is not None:
            data["cost"] = spent
        emit_json({**data, **history})
        return
    _render(found.figures)
    _render_history(history)
    if spent is not None:
        render_cost(spent)
    if gpu:
        click.echo("")
        rows = [
            (
                t.task_id or f"workspace {t.workspace}",
                f"{t.gpu_hours:.2f}",
                gpu_size(t.peak_memory),
                t.samples,
            )
            for t in gpu_tasks
        ]
        print_table(
            ("task", "GPU-hours", "peak GPU memory", "samples"),
            rows,
            empty="no GPU use by a task was sampled in this window",
            right=("GPU-hours", "peak GPU memory", "samples"),
        )


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _render_history(history: dict[str, Any]) -> None:
    if "tasks" in history:
        t = history["tasks"]
        click.echo("")
        rows = [
            *((f"tasks {status}", n) for status, n in t["by_status"].items()),
            (
                "iterations per task",
                "-" if t["iterations_per_task"] is None else t["iterations_per_task"],
            ),
            ("first-try pass rate", _rate(t["first_try_pass_rate"])),
            ("claim to done p50", ms(t["claim_to_done_p50_ms"])),
            ("claim to done p95", ms(t["claim_to_done_p95_ms"])),
        ]
        print_table(("task figure", "value"), rows, right=("value",))
    if "gates" in history:
        click.echo("")
        print_table(
            ("gate", "runs", "pass rate", "first try", "flaky", "p50", "p95"),
            [
                (
                    g["gate"],
                    g["runs"],
                    _rate(g["pass_rate"]),
                    _rate(g["first_try_pass_rate"]),
                    f"{g['flaky_passes']}/{g['passes_after_failure']}",
                    ms(g["p50_ms"]),
                    ms(g["p95_ms"]),
                )
                for g in history["gates"]
            ],
            empty="no gate runs in this project's task history",
            right=("runs", "pass rate", "first try", "flaky", "p50", "p95"),
        )
    if "workflows" in history:
        click.echo("")
        print_table(
            ("workflow", "stage", "tasks", "done", "iterations", "first try", "claim to done p50"),
            [
                (
                    w["workflow"],
                    w["stage"],
                    w["tasks"],
                    w["done"],
                    "-" if w["iterations_per_task"] is None else w["iterations_per_task"],
                    _rate(w["first_try_pass_rate"]),
                    ms(w["claim_to_done_p50_ms"]),
                )
                for w in history["workflows"]
            ],
            empty="no workflow stages in this project's task history",
            right=("tasks", "done", "iterations", "first try", "claim to done p50"),
        )
    if history.get("workflow_runs"):
        click.echo("")
        figures = (
            "runs",
            "completed",
            "duration p50",
            "duration p95",
            "resolution p50",
            "resolution p95",
        )
        print_table(
            ("workflow", *figures),
            [
                (
                    w["workflow"],
                    w["runs"],
                    w["completed"],
                    ms(w["duration_p50_ms"]),
                    ms(w["duration_p95_ms"]),
                    ms(w["resolution_p50_ms"]) if w["incident"] else "",
                    ms(w["resolution_p95_ms"]) if w["incident"] else "",
                )
                for w in history["workflow_runs"]
            ],
            right=figures,
        )


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp).replace(tzinfo=UTC).timestamp()


def render_cost(cost: dict[str, Any]) -> None:
    """The ``--cost`` tables: outcomes, tasks, personas, models (costs marked where unknown)."""
    click.echo("")
    outcomes = cost["outcomes"]
    rows = [
        (
            name.replace("_", " "),
            o["tasks"],
            tokens_text(o["tokens"]),
            dollars_text(o),
            ms(o["wall_ms"]) if o["tasks"] else "-",
            dollars_text(o["per_task"]) if o["per_task"] else "-",
        )
        for name, o in outcomes.items()
        if o["tasks"]
    ]
    rows.append(
        (
            "unattributed",
            "-",
            tokens_text(cost["unattributed"]["tokens"]),
            dollars_text(cost["unattributed"]),
            "-",
            "-",
        )
    )
    print_table(
        ("agent work", "tasks", "tokens", "cost", "wall time", "cost per task"),
        rows,
        right=("tasks", "tokens", "cost", "wall time", "cost per task"),
    )
    click.echo("")
    print_table(
        ("task", "outcome", "persona", "tokens", "cost", "wall time"),
        [
            (
                t["task_id"],
                t["outcome"].replace("_", " "),
                t["persona"],
                tokens_text(t["tokens"]),
                dollars_text(t),
                ms(t["wall_ms"]),
            )
            for t in cost["tasks"][:TOP_ROWS]
        ],
        empty="no agent usage attributed to a task in this window (see `nexus telemetry ingest`)",
        right=("tokens", "cost", "wall time"),
    )
    if len(cost["tasks"]) > TOP_ROWS:
        click.echo(f"({len(cost['tasks']) - TOP_ROWS} more tasks; --json lists them all)", err=True)
    if cost["personas"]:
        click.echo("")
        print_table(
            ("persona", "tasks", "tokens", "cost"),
            [
                (p["persona"], p["tasks"], tokens_text(p["tokens"]), dollars_text(p))
                for p in cost["personas"]
            ],
            right=("tasks", "tokens", "cost"),
        )
    if cost["models"]:
        click.echo("")
        print_table(
            ("model", "tokens", "cost"),
            [
                (
                    m["model"],
                    tokens_text(m["tokens"]),
                    dollars_text(m) if m["priced"] else "unknown",
                )
                for m in cost["models"]
            ],
            right=("tokens", "cost"),
        )
    click.echo(f"(prices read {cost['prices']['retrieved']}; docs/telemetry.md)", err=True)
