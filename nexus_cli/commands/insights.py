"""``nexus insights``: patterns with a suggested fix each; cron reports and their schedule."""

from __future__ import annotations

from typing import Any

import click
from click.core import ParameterSource

from nexus_cli.commands.stats import resolve_window, window_options
from nexus_cli.errors import UsageError
from nexus_cli.lazy import NexusGroup
from nexus_cli.output import code_markup, console, emit_json, json_option
from nexus_cli.telemetry import usage
from nexus_cli.telemetry.present import files
from nexus_cli.telemetry.present import report as report_logic
from nexus_cli.telemetry.ship import schedule as logic
from nexus_cli.workflows import history as task_history


def _render(patterns: list[dict[str, Any]]) -> None:
    """Each pattern wrapped to the terminal (80 columns when piped), with a hanging indent."""
    if not patterns:
        click.echo("no patterns detected in this window", err=True)
        return
    from rich.text import Text

    out = console()
    if not out.is_terminal:
        out.width = 80
    styled = out.color_system is not None

    def hanging(first: str, markup: str) -> None:
        for number, line in enumerate(Text.from_markup(markup).wrap(out, out.width - 4)):
            line.rstrip()
            out.print(Text(first if number == 0 else "    ") + line, soft_wrap=True)

    for index, p in enumerate(patterns):
        if index:
            out.print()
        description = code_markup(p["description"], styled=styled)
        hanging("  • ", f"[bold]{p['group']}:[/] {description}")
        seen = f"seen {p['frequency']}×, {p['first_seen'][:16]} to {p['last_seen'][:16]} UTC"
        hanging("    ", f"[dim]{seen}[/]")
        hanging("  → ", code_markup(p["suggested_fix"], styled=styled))


def _write_report(
    data: dict[str, Any], fmt: str, output: str | None, force: bool, quiet: bool
) -> None:
    text = report_logic.to_json(data) if fmt == "json" else report_logic.to_markdown(data)
    if output is None or output == "-":
        click.echo(text, nl=False)
        return
    path = files.write_text(output, text, force=force)
    if not quiet:
        click.echo(f"report written to {path}", err=True)


@click.group(cls=NexusGroup, invoke_without_command=True)
@window_options
@click.option("--slow", "slow", is_flag=True, help="Only slow commands.")
@click.option("--errors", "errors", is_flag=True, help="Only recurring errors and retries.")
@click.option("--improvements", is_flag=True, help="Only workflow improvements.")
@click.option("--report", is_flag=True, help="Write a self-contained report (for cron).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["md", "json"]),
    default="md",
    show_default=True,
    help="Report format.",
)
@click.option("--output", metavar="FILE", help="Report file ({date} is replaced); default stdout.")
@click.option(
    "--force", is_flag=True, help="Replace an existing --output file (unsafe: its content is lost)."
)
@click.option(
    "--quiet",
    "-q",
    is_flag=True,
    help="Print nothing on success (for cron: no mail unless it fails).",
)
@click.option(
    "--exact", is_flag=True, help="Compute from raw events (default: roll-ups, within 1%)."
)
@json_option
@click.pass_context
def insights(
    ctx: click.Context,
    /,
    exact: bool,
    as_json: bool,
    report: bool,
    fmt: str,
    output: str | None,
    force: bool,
    quiet: bool,
    **options: Any,
) -> None:
    """Detect patterns in your use (default: last 30 days), each with a concrete fix.

    Patterns are kept in the telemetry database's `patterns` table. Insights about gates,
    workflow stages and runs come from the current project's task history (all of it) and are
    not stored; docs/telemetry.md lists them.
    """
    if ctx.invoked_subcommand is not None:
        return

    report_only = [
        f"--{name}"
        for name, given in (
            ("format", ctx.get_parameter_source("fmt") is not ParameterSource.DEFAULT),
            ("output", output is not None),
            ("force", force),
            ("quiet", quiet),
        )
        if given
    ]
    if report_only and not report:
        raise UsageError(
            f"{', '.join(report_only)} {'applies' if len(report_only) == 1 else 'apply'} to "
            "the report: add --report",
            hint="nexus insights --report --output FILE (or --json for the patterns)",
        )
    groups = {g for g in usage.GROUPS if options.pop(g, False)}
    window = resolve_window(options, default_days=usage.INSIGHTS_DAYS)
    found = task_history.usage_insights(window, groups=groups, exact=exact)
    if report:
        figures = usage.stats(window, exact=exact).figures
        _write_report(report_logic.build(figures, found.patterns), fmt, output, force, quiet)
    elif as_json:
        emit_json(found.to_json())
    else:
        _render(found.patterns)


@insights.command()
@click.option("--cron", "expression", metavar="EXPR", help='When to run, e.g. "0 9 * * 1".')
@click.option("--output", metavar="FILE", help="Report file ({date} is replaced).")
@click.option("--remove", is_flag=True, help="Remove the managed crontab entry.")
@click.option("--print", "print_only", is_flag=True, help="Only print the crontab line.")
def schedule(expression: str | None, output: str | None, remove: bool, print_only: bool) -> None:
    """Install (or --remove) one managed crontab entry that writes the weekly report."""
    if remove:
        removed = logic.remove()
        click.echo(
            "removed the nexus crontab entry" if removed else "no nexus crontab entry", err=True
        )
        return
    if not expression:
        line = logic.installed()
        if line is None:
            click.echo(
                'none installed (install one with: nexus insights schedule --cron "0 9 * * 1")',
                err=True,
            )
            return
        click.echo(line)
        return
    target = output or logic.default_output()
    if print_only:
        click.echo(logic.entry(expression, target))
        return
    line = logic.install(expression, target)
    click.echo(line)
    click.echo("installed the crontab entry above", err=True)
