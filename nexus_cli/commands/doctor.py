from __future__ import annotations

import click

from nexus_cli.doctor import caches
from nexus_cli.doctor.checks import run_checks
from nexus_cli.errors import NotAProjectError
from nexus_cli.output import emit_json, json_option, print_table
from nexus_cli.project import find_project


@click.command()
@click.option(
    "--fix",
    is_flag=True,
    help="Repair what can be repaired first: rebuild damaged telemetry roll-ups, remove damaged "
    "cache entries.",
)
@json_option
def doctor(fix: bool, as_json: bool) -> int:
    """Check git, the Docker engine, NVML, state folders, database integrity, the telemetry
    roll-ups, records put aside, and the caches.

    Exits 0 when every essential check passes and 1 otherwise; each problem comes with its fix.
    """
    try:
        root = find_project().root
    except NotAProjectError:
        root = None
    repaired = caches.repair() if fix else []
    checks = run_checks(root)
    ok = all(c.passed for c in checks if c.essential)
    if as_json:
        out: dict[str, object] = {"ok": ok, "checks": [c.to_dict() for c in checks]}
        if fix:
            out["repaired"] = repaired
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
        click.echo(
            "All essential checks passed." if ok else "Some essential checks failed.", err=True
        )
    return 0 if ok else 1
