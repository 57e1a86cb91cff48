from __future__ import annotations

import os
from pathlib import Path

import click

from nexus_cli.doctor import caches
from nexus_cli.doctor.checks import run_checks
from nexus_cli.errors import NotAProjectError
from nexus_cli.mcp import clients
from nexus_cli.output import emit_json, json_option, print_table
from nexus_cli.project import find_project


@click.command()
@click.option(
    "--fix",
    is_flag=True,
    help="Repair what can be repaired first: rebuild damaged telemetry roll-ups, remove damaged "
    "cache entries.",
)
@click.option(
    "--agents",
    is_flag=True,
    help="Also check each coding agent found: MCP entry, server reachable, hooks, skills.",
)
@json_option
def doctor(fix: bool, agents: bool, as_json: bool) -> int:
    """Check git, the Docker engine, NVML, state folders, database integrity, the telemetry
    roll-ups, records put aside, and the caches.

    Exits 0 when every essential check passes and 1 otherwise; each problem comes with its fix.

    With --agents, also reports for each coding agent whose folder exists here or in your home
    folder (Claude Code, Codex, Cursor, VS Code, Gemini CLI, OpenCode): which file registers the
    `nexus` MCP server, whether that server starts and lists its tools (started as the agent
    starts it), whether Nexus's hooks are installed and how many skills it can see. These checks
    are not essential: they never change the exit code.
    """
    try:
        root = find_project().root
    except NotAProjectError:
        root = None
    repaired = caches.repair() if fix else []
    checks = run_checks(root)
    ok = all(c.passed for c in checks if c.essential)
    reports = None
    if agents:
        where = root or Path.cwd()
        reports = clients.check(root, Path(os.path.expanduser("~")), clients.reacher(where))
    if as_json:
        out: dict[str, object] = {"ok": ok, "checks": [c.to_dict() for c in checks]}
        if fix:
            out["repaired"] = repaired
        if reports is not None:
            out["agents"] = [r.to_dict() for r in reports]
        emit_json(out)
    else:
        for line in repaired:
            click.echo(f"repaired {line}", err=True)
        if fix and not repaired:
            click.echo("nothing to repair", err=True)
        print_table(
            ("check", "status", "detail", "fix"),
            [(c.name, c.status, c.detail, c.fix or "") for c in checks],
            wrap=True,
        )
        if reports is not None:
            _print_agents(reports)
        click.echo(
            "All essential checks passed." if ok else "Some essential checks failed.", err=True
        )
    return 0 if ok else 1


def _yes(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "no")


def _print_agents(reports: list[clients.ClientReport]) -> None:
    if not reports:
        click.echo("No coding agent's folder found here or in your home folder.", err=True)
        return
    rows = []
    for r in reports:
        reach = _yes(r.mcp_reachable)
        if r.tools is not None:
            reach += f" ({r.tools} tools)"
        detail = "; ".join([*r.config, *r.problems]) or "not registered: `nexus mcp install`"
        rows.append(
            (
                r.client,
                _yes(r.mcp_registered),
                reach,
                _yes(r.hooks_installed),
                str(r.skills),
                detail,
            )
        )
    print_table(("agent", "mcp", "reachable", "hooks", "skills", "detail"), rows, wrap=True)
