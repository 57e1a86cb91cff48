from __future__ import annotations

import platform
import sys

import click

from nexus_cli import __version__
from nexus_cli.output import JSON_CONTRACT, emit_json, json_option
from nexus_cli.resources import data_dir


@click.command()
@json_option
def version(as_json: bool) -> None:
    """Show the Nexus version (and Python's, with --json)."""
    if as_json:
        emit_json(
            {
                "nexus": __version__,
                "json_contract": JSON_CONTRACT,
                "python": platform.python_version(),
                "platform": sys.platform,
                "executable": sys.executable,
                "data": {
                    name: str(data_dir(name)) for name in ("templates", "personas", "workflows")
                },
            }
        )
    else:
        click.echo(f"nexus {__version__}")
