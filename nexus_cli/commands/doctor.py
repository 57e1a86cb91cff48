from __future__ import annotations

import click

from nexus_cli.doctor.checks import run_checks
from nexus_cli.errors import NotAProjectError
from nexus_cli.output import emit_json, json_option, print_table
from nexus_cli.project import find_project


@click.command()
@json_option
def doctor(as_json: bool) -> int:
    """Check git, the Docker engine, NVML, state folders and database integrity.

    Exits 0 when every essential check passes and 1 otherwise; each problem comes with its fix.
    """
    try:
        root = find_project().root
    except NotAProjectError:
        root = None
    checks = run_checks(root)
    ok = all(c.passed for c in checks if c.essential)
    if as_json:
        emit_json({"ok": ok, "checks": [c.to_dict() for c in checks]})
    else:
        print_table(
            ("check", "status", "detail", "fix"),
            [(c.name, c.status, c.detail, c.fix or "") for c in checks],
            wrap=True,
        )
        click.echo(
            "All essential checks passed." if ok else "Some essential checks failed.", err=True
        )
    return 0 if ok else 1
