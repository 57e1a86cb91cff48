"""``nexus mcp``: serve Nexus to coding agents over MCP (stdio); install it into their configs."""

from __future__ import annotations

import click

from nexus_cli import extras
from nexus_cli.errors import NexusError
from nexus_cli.lazy import NexusGroup
from nexus_cli.mcp import client_files
from nexus_cli.mcp import install as logic
from nexus_cli.output import emit_json, info, json_option, warn
from nexus_cli.project import find_project

CLIENTS = click.Choice(["claude", "cursor", "codex", "vscode", "gemini", "opencode"])

# Serving loads the MCP SDK (an optional extra): its module is loaded only when `nexus mcp` serves.
SERVE = {"serve": "nexus_cli.commands.mcp_serve:serve"}


@click.group(cls=NexusGroup, invoke_without_command=True, hidden_lazy_subcommands=SERVE)
@click.pass_context
def mcp(ctx: click.Context) -> None:
    """Serve this project's tasks, workspaces and insights to coding agents over MCP (stdio).

    Run by an MCP client, not by hand: connect one with `nexus mcp install --client NAME`.
    Needs the optional `mcp` extra; `nexus doctor` names the command that adds it to your
    installation (pipx, uv tool, a checkout or pip).
    """
    if ctx.invoked_subcommand is not None:
        return
    find_project().require_initialized()
    try:
        serve = mcp.get_command(ctx, "serve")  # imports the MCP SDK
    except ImportError as exc:
        if (exc.name or "").split(".")[0] not in ("mcp", "pydantic", "anyio"):
            raise
        raise NexusError(
            "`nexus mcp` needs the MCP SDK (the optional `mcp` extra), which is not installed",
            hint=extras.missing_hint("mcp"),
            category="missing_extra",
        ) from None
    assert serve is not None  # registered in SERVE
    ctx.invoke(serve)


@mcp.command()
@click.option("--client", "client", type=CLIENTS, required=True, help="The coding agent.")
@click.option(
    "--global", "is_global", is_flag=True, help="The user-wide config, not the project's."
)
@click.option(
    "--hooks",
    is_flag=True,
    help="Claude Code, Codex: also add the gate-enforcing hooks (see `nexus hooks`).",
)
@click.option("--print", "print_only", is_flag=True, help="Only show what would be written.")
@json_option
def install(client: str, is_global: bool, hooks: bool, print_only: bool, as_json: bool) -> None:
    """Add Nexus to CLIENT's MCP configuration as a managed entry (`uninstall` removes it).

    Running it again adds only what is missing (`--hooks` later adds the hooks) and otherwise
    changes nothing.

    Without the MCP SDK the entry is still written, with a warning: the client can start
    `nexus mcp` once the SDK is installed.
    """
    plan = logic.plan_install(client_files.scope(is_global), client, hooks=hooks)
    if not print_only:
        logic.apply(plan)
    if not extras.installed("mcp"):
        warn(
            f"the MCP SDK is not installed, so {client} cannot start `nexus mcp` yet; {extras.missing_hint('mcp')}"
        )
    report(plan, print_only, as_json)


@mcp.command()
@click.option("--client", "client", type=CLIENTS, required=True, help="The coding agent.")
@click.option("--global", "is_global", is_flag=True, help="The user-wide config.")
@click.option("--print", "print_only", is_flag=True, help="Only show what would change.")
@json_option
def uninstall(client: str, is_global: bool, print_only: bool, as_json: bool) -> None:
    """Remove what `nexus mcp install` added, restoring each file byte for byte where possible."""
    plan = logic.plan_uninstall(client_files.scope(is_global), client)
    if not print_only:
        logic.apply(plan)
    report(plan, print_only, as_json)


def report(
    plan: logic.Plan, print_only: bool, as_json: bool, *, what: str = "the nexus MCP server is"
) -> None:
    """What an install or uninstall changed (or would), as lines or as JSON (``what`` names the
    installed thing in "… already installed")."""
    if as_json:
        emit_json({**plan.to_dict(), "dry_run": print_only})
        return
    if plan.already:
        info(f"{what} already installed for {plan.client}; nothing to change")
    elif not plan.changes:
        info("nothing to change")
    for change in plan.changes:
        verb = f"would {change.verb}" if print_only else f"{change.verb.rstrip('e')}ed"
        info(f"{verb} {change.path}")
        if print_only and change.after is not None:
            click.echo(change.after, nl=not change.after.endswith("\n"))
