"""What ``nexus mcp`` runs: serve this project over MCP (stdio).

The one command module that loads the MCP SDK (an optional extra, through
:mod:`nexus_cli.mcp.server`): :mod:`nexus_cli.commands.mcp` registers it as a hidden subcommand,
so `nexus mcp install` works without the SDK.
"""

from __future__ import annotations

import click

from nexus_cli.mcp.server import serve as serve_project
from nexus_cli.project import find_project
from nexus_cli.telemetry.journal import invocation, settings


@click.command(hidden=True)
def serve() -> None:
    """Serve this project's tasks, workspaces and insights over MCP (what `nexus mcp` runs)."""
    project = find_project().require_initialized()
    inv = invocation.current()
    enabled, _ = settings.decide(inv.no_telemetry if inv is not None else False)
    serve_project(project, record=enabled)
