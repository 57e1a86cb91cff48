"""``nexus workspace``: worktrees with their own Docker services, ports and volumes."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

import click
from click.core import ParameterSource

from nexus_cli.commands.options import FiniteRange, parse_vars
from nexus_cli.commands.workspace_batch import create_several
from nexus_cli.commands.workspace_progress import shown_progress
from nexus_cli.completion import completer
from nexus_cli.lazy import NexusGroup
from nexus_cli.output import emit_json, json_option, print_table, warn
from nexus_cli.plural import plural
from nexus_cli.project import find_project
from nexus_cli.tasks.workspace_hooks import container_hooks
from nexus_cli.tasks.workspace_hooks import load as load_workspace_hooks
from nexus_cli.terminal import escape
from nexus_cli.workspaces import creation, lifecycle
from nexus_cli.workspaces.handle import Workspace
from nexus_cli.workspaces.host_hooks import CREATE_EVENTS
from nexus_cli.workspaces.host_ports import environment as workspace_environment
from nexus_cli.workspaces.host_ports import variable as host_ports_variable
from nexus_cli.workspaces.lookup import published_ports, worktree_path
from nexus_cli.workspaces.recovery import list_workspaces
from nexus_cli.workspaces.recovery import status as workspace_status

if TYPE_CHECKING:
    from nexus_cli.project import Project
    from nexus_cli.workspaces.recovery import WorkspaceView

NAME = click.argument("name", shell_complete=completer("workspace"))
HEALTH_TIMEOUT = click.option(
    "--health-timeout",
    type=FiniteRange(min=1),
    default=120.0,
    show_default=True,
    help="Seconds to wait for services with a healthcheck to become healthy.",
)


def _project() -> Project:
    return find_project().require_initialized()


def _workspace(name: str) -> Workspace:
    """The handle of workspace NAME of the current project (the name is validated here)."""
    return Workspace(_project(), name)


_OPS = "nexus_cli.commands.workspace_ops"

# The commands of workspace_ops.py (containers, deletion, exec), loaded only when one runs:
# name -> ("module:attribute", short help: the command's, which tests check).
OPS: dict[str, tuple[str, str]] = {
    "delete": (
        f"{_OPS}:delete",
        "Delete NAME: containers, network, volumes, worktree and (if merged) its branch.",
    ),
    "hooks": (
        f"{_OPS}:hooks",
        "List the hooks around workspaces and approve the project's (--approve).",
    ),
    "finish": (
        f"{_OPS}:finish",
        "Finish NAME: its tasks' gates pass, its branch is merged, then it is deleted.",
    ),
    "exec": (
        f"{_OPS}:exec_",
        "Run COMMAND in /workspace of NAME's service and exit with its exit code.",
    ),
    "logs": (
        f"{_OPS}:logs",
        "Print NAME's service logs (every service, prefixed, when SERVICE is not given).",
    ),
    "repair": (
        f"{_OPS}:repair",
        "Restore missing worktrees from their branches; prune stale and unlock locked entries.",
    ),
    "shell": (
        f"{_OPS}:shell",
        "Open an interactive shell in /workspace of NAME's SERVICE (needs the docker CLI).",
    ),
}


@click.group(cls=NexusGroup, lazy_subcommands=OPS, shorten_lazy_help=True)
def workspace() -> None:
    """Worktrees on their own branch, each with its own services, ports and volumes.

    A workspace NAME is the git worktree .nexus/worktrees/NAME on branch NAME plus the containers,
    network and volumes its template describes. Switch with: cd "$(nexus workspace path NAME)".
    """


@workspace.command()
@click.argument(
    "names", nargs=-1, required=True, metavar="NAME...", shell_complete=completer("workspace")
)
@click.option(
    "-t",
    "--template",
    "template_name",
    default="bare",
    show_default=True,
    shell_complete=completer("template"),
    help="Template to create the workspace from.",
)
@click.option(
    "--compose",
    "compose_file",
    metavar="FILE",
    help="Run the project's own Compose file FILE instead of a template.",
)
@click.option(
    "--profile",
    "profiles",
    multiple=True,
    metavar="NAME",
    help="With --compose: also start the services of Compose profile NAME.",
)
@click.option(
    "--from", "from_ref", metavar="REF", help="Start a new branch from REF (default HEAD)."
)
@click.option(
    "--var", "variables", multiple=True, metavar="KEY=VALUE", help="Set a template variable."
)
@click.option(
    "--no-start", is_flag=True, help="Create the worktree only; start services later with `up`."
)
@click.option("--bind-all", is_flag=True, help="Publish ports on 0.0.0.0 instead of 127.0.0.1.")
@click.option(
    "--host-port",
    "host_ports",
    multiple=True,
    metavar="NAME",
    help="Allocate a port NAME for a process on the host (see `nexus workspace env`).",
)
@click.option(
    "--ignored-files",
    type=click.Choice(["copy", "reflink", "hardlink", "skip"]),
    default="copy",
    show_default=True,
    help="How to bring the ignored files .worktreeinclude lists into the worktree.",
)
@click.option(
    "--keep-on-failure",
    is_flag=True,
    help="Keep what a failed create made (worktree, containers...) instead of removing it.",
)
@HEALTH_TIMEOUT
@json_option
def create(
    names: tuple[str, ...],
    template_name: str,
    compose_file: str | None,
    profiles: tuple[str, ...],
    from_ref: str | None,
    variables: tuple[str, ...],
    no_start: bool,
    bind_all: bool,
    host_ports: tuple[str, ...],
    ignored_files: str,
    keep_on_failure: bool,
    health_timeout: float,
    as_json: bool,
) -> int | None:
    """Create workspace NAME: worktree, branch, and (unless --no-start) its running services.

    Several NAMEs are created at once, each whole or not at all (--json: {created, failed}).
    """
    handle = _workspace(names[0])
    compose = _compose_option(handle.project, compose_file, template_name, profiles)
    if len(names) > 1:
        return create_several(
            handle.project,
            names,
            template_name="compose" if compose else template_name,
            from_ref=from_ref,
            as_json=as_json,
            compose=compose,
            profiles=list(profiles),
            variables=parse_vars(variables),
            start=not no_start,
            bind_address="0.0.0.0" if bind_all else None,
            health_timeout_s=health_timeout,
            keep_on_failure=keep_on_failure,
            host_ports=list(host_ports),
            ignored_files=ignored_files,
        )
    name = handle.name
    hooks = load_workspace_hooks(handle.project, CREATE_EVENTS)
    with shown_progress() as progress:
        result = creation.create(
            handle,
            template_name="compose" if compose else template_name,
            compose=compose,
            profiles=list(profiles),
            from_ref=from_ref,
            variables=parse_vars(variables),
            start=not no_start,
            bind_address="0.0.0.0" if bind_all else None,
            progress=progress,
            health_timeout_s=health_timeout,
            keep_on_failure=keep_on_failure,
            host_ports=list(host_ports),
            ignored_files=ignored_files,
            hooks=hooks,
            container_hooks=container_hooks(handle.project),
        )
    if as_json:
        emit_json(result.to_json())
        return None
    click.echo(
        f"created workspace {name} (template {result.template}) on branch {result.branch}",
        err=True,
    )
    for a in result.ports:
        click.echo(
            f"  {a.service} {a.container_port}/{a.protocol} -> localhost:{a.host_port}", err=True
        )
    if result.included.copied:
        click.echo(f"  copied {plural(len(result.included.copied), 'ignored file')}", err=True)
    for host_name, port in result.host_ports.items():
        click.echo(f"  host port {host_name}: {port} (${host_ports_variable(host_name)})", err=True)
    click.echo(str(result.path))
    return None


def _compose_option(
    project: Project, compose_file: str | None, template_name: str, profiles: tuple[str, ...]
) -> str | None:
    """--compose FILE as a path relative to the project root (checked inside it later)."""
    if compose_file is None:
        if profiles:
            raise click.UsageError("--profile selects services of a --compose file")
        return None
    given = click.get_current_context().get_parameter_source("template_name")
    if template_name != "bare" or given is not ParameterSource.DEFAULT:  # `-t bare` too
        raise click.UsageError("give --template or --compose, not both")
    return Path(os.path.relpath(os.path.abspath(compose_file), project.root)).as_posix()


@workspace.command()
@NAME
@HEALTH_TIMEOUT
@json_option
def up(name: str, health_timeout: float, as_json: bool) -> None:
    """Start NAME's services (recreating any that died or whose definition changed); ports stay
    the same when free."""
    handle = _workspace(name)
    with shown_progress() as progress:
        result = lifecycle.up(
            handle,
            progress=progress,
            health_timeout_s=health_timeout,
            container_hooks=container_hooks(handle.project),
        )
    if as_json:
        emit_json(result.to_json())
        return
    started = ", ".join(result.started) or "nothing to start"
    click.echo(
        f"{name}: started {started}"
        + (f"; already running: {', '.join(result.kept)}" if result.kept else ""),
        err=True,
    )
    for a in result.ports:
        click.echo(
            f"  {a.service} {a.container_port}/{a.protocol} -> localhost:{a.host_port}", err=True
        )


@workspace.command()
@NAME
@json_option
def down(name: str, as_json: bool) -> None:
    """Stop and remove NAME's containers; volumes, network and ports are kept for `up`."""
    result = lifecycle.down(_workspace(name))
    if as_json:
        emit_json(result.to_json())
        return
    click.echo(f"{name}: stopped {plural(result.stopped, 'container')}", err=True)


@workspace.command()
@NAME
@click.option(
    "--pull",
    is_flag=True,
    help="Copy the container's changed and new files back (refused over uncommitted local changes).",
)
@json_option
def sync(name: str, pull: bool, as_json: bool) -> None:
    """Copy NAME's worktree into its volumes on a remote engine (--pull: the other way)."""
    result = lifecycle.sync(_workspace(name), pull=pull)
    if as_json:
        emit_json(result.to_json())
        return
    if result.reason is not None:
        click.echo(f"{name}: {result.reason}", err=True)
    elif pull:
        click.echo(
            f"{name}: wrote {plural(result.files, 'file')} from the container; "
            f"{result.unchanged} unchanged",
            err=True,
        )
    else:
        click.echo(
            f"{name}: sent {plural(result.files, 'file')} into {plural(len(result.volumes), 'volume')}",
            err=True,
        )


def _view_row(view: WorkspaceView) -> tuple[str, ...]:
    running = sum(1 for s in view.services if s.status == "running")
    services = f"{running}/{len(view.services)}" if view.services else "-"
    ports = " ".join(f"{s.service}:{h}" for s in view.services for h in s.ports.values())
    cells = (
        view.name,
        view.state,
        view.branch or "?",
        view.template or "?",
        services,
        ports or "-",
        "; ".join(view.drift),
    )
    return tuple(escape(cell, newlines=False) for cell in cells)


@workspace.command(name="list")
@json_option
def list_(as_json: bool) -> None:
    """List workspaces, reconciling records, `git worktree list` and containers; show drift."""
    result = list_workspaces(_project())
    if as_json:
        emit_json(result.to_json())
        return
    if result.engine not in ("ok", "not needed"):
        warn(f"{result.engine}; container state unknown")
    print_table(
        ("name", "state", "branch", "template", "services", "ports", "drift"),
        [_view_row(v) for v in result.workspaces],
        empty="no workspaces yet; create one with `nexus workspace create NAME`",
    )


@workspace.command()
@NAME
@json_option
def status(name: str, as_json: bool) -> None:
    """Show NAME's worktree, branch, uncommitted changes and each service's state."""
    result = workspace_status(_workspace(name))
    view = result.view
    if as_json:
        emit_json(result.to_json())
        return
    if result.engine not in ("ok", "not needed"):
        warn(f"{result.engine}; container state unknown")
    click.echo(escape(f"{view.name}: {view.state}"))
    click.echo(escape(f"  path:     {view.path}"))
    click.echo(
        f"  branch:   {escape(str(view.branch))}   worktree: {escape(str(view.worktree))}"
        + (f"   uncommitted changes: {view.uncommitted}" if view.uncommitted is not None else "")
    )
    click.echo(escape(f"  template: {view.template}"))
    for item in view.drift:
        click.echo(escape(f"  drift:    {item}"))
    if view.services:
        print_table(
            ("service", "status", "health", "ports"),
            [
                (
                    s.service,
                    s.status,
                    s.health or "-",
                    " ".join(f"{h}->{c}" for c, h in s.ports.items()) or "-",
                )
                for s in view.services
            ],
        )


@workspace.command()
@NAME
@json_option
def ports(name: str, as_json: bool) -> None:
    """Show NAME's host ports (stable across down/up) and where each one goes."""
    result = published_ports(_workspace(name))
    if as_json:
        emit_json(result.to_json())
        return
    print_table(
        ("service", "container", "host"),
        [
            (
                r.service if r.kind == "container" else f"{r.service} (host)",
                f"{r.container_port}/{r.protocol}" if r.kind == "container" else "-",
                f"{r.address}:{r.host_port}",
            )
            for r in result.rows
        ],
        empty=f"{name} has no published ports (yet: they are allocated on `up`)",
    )


@workspace.command()
@NAME
@json_option
def env(name: str, as_json: bool) -> None:
    """Print NAME's environment for processes on the host, as `export` lines.

    NEXUS_PORT_<NAME> for each host port, PORT for the first, NEXUS_SERVICE_<SERVICE>_<PORT>_ADDR
    (HOST:PORT) for each published service port, NEXUS_WORKSPACE and NEXUS_WORKTREE.
    Example: eval "$(nexus workspace env feature-auth)" && npm run dev -- --port "$PORT"
    """
    result = workspace_environment(_workspace(name))
    if as_json:
        emit_json(result.to_json())
        return
    for key, value in result.variables.items():
        click.echo(f"export {key}={shlex.quote(value)}")


@workspace.command()
@NAME
def path(name: str) -> None:
    """Print NAME's worktree path: cd "$(nexus workspace path NAME)"."""
    click.echo(str(worktree_path(_workspace(name))))
