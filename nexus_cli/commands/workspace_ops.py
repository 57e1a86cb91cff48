"""``nexus workspace delete|finish|exec|shell|logs|repair`` (loaded lazily by the group in
workspace.py)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from nexus_cli.commands.options import confirm, parse_vars, yes_option
from nexus_cli.completion import completer
from nexus_cli.output import emit_json, json_option, print_table, warn
from nexus_cli.plural import plural
from nexus_cli.project import find_project
from nexus_cli.tasks import workspace_hooks
from nexus_cli.tasks.finish import finish as finish_workspace
from nexus_cli.telemetry.journal import invocation
from nexus_cli.terminal import escape
from nexus_cli.workspaces.container_io import find_container, stream_logs
from nexus_cli.workspaces.container_io import shell as open_shell
from nexus_cli.workspaces.deletion import delete as delete_workspace
from nexus_cli.workspaces.execution import log_sources, run_command, service_hint
from nexus_cli.workspaces.handle import Workspace
from nexus_cli.workspaces.host_hooks import DELETE_EVENTS
from nexus_cli.workspaces.recovery import repair as repair_workspaces

if TYPE_CHECKING:
    from nexus_cli.project import Project

NAME = click.argument("name", shell_complete=completer("workspace"))


def _project() -> Project:
    return find_project().require_initialized()


def _workspace(name: str, project: Project | None = None) -> Workspace:
    return Workspace(project or _project(), name)


@click.command()
@NAME
@yes_option
@click.option(
    "--force",
    is_flag=True,
    help="Delete even with uncommitted changes or an unmerged branch (unsafe: that work is lost)."
    " Implies --yes.",
)
@click.option("--keep-branch", is_flag=True, help="Keep the git branch.")
@click.option("--keep-volumes", is_flag=True, help="Keep the workspace's Docker volumes.")
@json_option
def delete(
    name: str, yes: bool, force: bool, keep_branch: bool, keep_volumes: bool, as_json: bool
) -> None:
    """Delete NAME: containers, network, volumes, worktree and (if merged) its branch.

    Asks first (--yes or --force skips the question; without a terminal one of them is needed).
    """
    branch = "" if keep_branch else " and (if merged) its branch"
    volumes = "" if keep_volumes else ", volumes (their data is lost)"
    question = (
        f"Delete workspace {escape(name, newlines=False)}: its containers, network{volumes},"
        f" worktree{branch}?"
    )
    result = delete_workspace(
        _workspace(name),
        force=force,
        keep_branch=keep_branch,
        keep_volumes=keep_volumes,
        confirm=lambda: confirm(question, yes=yes or force),
        hooks=workspace_hooks.load(_project(), DELETE_EVENTS),
    )
    if as_json:
        emit_json(result.to_json())
        return
    branch = "deleted" if result.branch_deleted else "kept"
    removed = (
        ", ".join(plural(n, kind.removesuffix("s")) for kind, n in result.removed.items())
        or "no Docker objects"
    )
    click.echo(f"deleted workspace {name} ({removed}; branch {branch})", err=True)


@click.command()
@NAME
@click.option(
    "--into",
    metavar="BRANCH",
    help="Branch to merge into (default: the branch of the main worktree).",
)
@click.option(
    "--rebase",
    "strategy",
    flag_value="rebase",
    help="Rebase the branch onto the target and fast-forward it, instead of a merge commit.",
)
@click.option("--merge", "strategy", flag_value="merge", default=True, hidden=True)
@click.option("--keep-volumes", is_flag=True, help="Keep the workspace's Docker volumes.")
@json_option
def finish(name: str, into: str | None, strategy: str, keep_volumes: bool, as_json: bool) -> None:
    """Finish NAME: its tasks' gates pass, its branch is merged, then it is deleted.

    Refuses, changing nothing, when the worktree has uncommitted changes, a gate fails or the merge
    conflicts. Example: nexus workspace finish feature-auth --into main --rebase
    """
    result = finish_workspace(
        _project(), name, into=into, strategy=strategy, keep_volumes=keep_volumes
    )
    if as_json:
        emit_json(result.to_json())
        return
    merged = result.integration
    gates = sum(item["gates"] for item in result.verified)
    how = "rebased onto and fast-forwarded" if merged.strategy == "rebase" else "merged into"
    click.echo(
        f"finished workspace {name}: {plural(gates, 'gate')} passed, "
        f"{plural(merged.commits, 'commit')} {how} {merged.target}, workspace deleted",
        err=True,
    )


@click.command()
@click.option(
    "--approve",
    is_flag=True,
    help="Approve the project's waiting hooks (asks you on the terminal; no flag can answer).",
)
@click.option(
    "-t",
    "--template",
    "template_name",
    help="Only this template's container hooks (default: every template in .nexus/templates/).",
)
@click.option(
    "--var",
    "variables",
    multiple=True,
    metavar="KEY=VALUE",
    help="A variable of --template, as you create workspaces with it.",
)
@json_option
def hooks(
    approve: bool, template_name: str | None, variables: tuple[str, ...], as_json: bool
) -> None:
    """List the hooks around workspaces and approve the project's (--approve).

    Host hooks are `workspaces.hooks` (pre_create, post_create, pre_delete) in your own
    config.yaml or in the project's .nexus/config.yaml; container hooks are `x-nexus.hooks`
    (post_create, post_start) of the project's templates. A project's hook runs only once you
    approved that exact command.
    """
    project = _project()
    values = parse_vars(variables)
    if approve:
        approved = len(workspace_hooks.approve(project))
        approved += len(workspace_hooks.approve_containers(project, template_name, values))
        click.echo(
            f"approved {plural(approved, 'hook')}" if approved else "no hook waits", err=True
        )
    views = workspace_hooks.listing(project)
    listed = workspace_hooks.container_listing(project, template_name, values)
    for name, why in listed.unreadable:
        warn(f"template {escape(name)} is not listed (its hooks cannot be read): {escape(why)}")
    containers = listed.views
    if as_json:
        emit_json([v.to_json() for v in views] + [v.to_json() for v in containers])
        return
    waits = "WAITS (nexus workspace hooks --approve)"
    print_table(
        ("event", "origin", "approved", "command"),
        [
            *(
                (
                    v.hook.event,
                    v.hook.origin,
                    v.approval or waits,
                    escape(v.hook.command, newlines=False),
                )
                for v in views
            ),
            *(
                (
                    f"{v.event} in {v.template.name}/{v.hook.service}",
                    v.template.origin,
                    v.approval or waits,
                    escape(v.hook.text, newlines=False),
                )
                for v in containers
            ),
        ],
        empty="no hooks (workspaces.hooks in config.yaml or .nexus/config.yaml, x-nexus.hooks "
        "in .nexus/templates/)",
    )


@click.command(name="exec", context_settings={"ignore_unknown_options": True})
@NAME
@click.option("-s", "--service", help="Service to run in (default: the template's first service).")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def exec_(name: str, service: str | None, command: tuple[str, ...]) -> int:
    """Run COMMAND in /workspace of NAME's service and exit with its exit code.

    Standard input is passed on when it is not a terminal; with a terminal on both standard input
    and output the command gets a TTY (as `docker exec -it`).

    Example: nexus workspace exec feature-auth --service db -- psql -U postgres < dump.sql
    """

    def write(chunk: bytes, is_err: bool) -> None:
        stream = sys.stderr if is_err else sys.stdout
        stream.flush()
        stream.buffer.write(chunk) if hasattr(stream, "buffer") else stream.write(chunk.decode())
        stream.flush()

    has_input = sys.stdin is not None and not sys.stdin.closed
    terminal = has_input and sys.stdin.isatty() and sys.stdout.isatty()
    stdin = sys.stdin.buffer if has_input and not sys.stdin.isatty() else None
    workspace = _workspace(name)
    code = run_command(workspace, list(command), service, write, stdin=stdin, terminal=terminal)
    hint = service_hint(workspace, list(command), service, code, cli=True)
    if hint is not None:
        click.echo(f"hint: {escape(hint)}", err=True)
    return code


@click.command()
@NAME
@click.argument("service", required=False)
def shell(name: str, service: str | None) -> int:
    """Open an interactive shell in /workspace of NAME's SERVICE (needs the docker CLI)."""
    invocation.note(event_type="workspace", workspace=name)
    _client, container = find_container(_workspace(name), service)
    return open_shell(container, sys.stdin.isatty() and sys.stdout.isatty(), warn)


@click.command()
@NAME
@click.argument("service", required=False)
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines until Ctrl-C.")
@click.option(
    "-n", "--tail", default="all", show_default=True, help="Lines from the end of each log."
)
def logs(name: str, service: str | None, follow: bool, tail: str) -> None:
    """Print NAME's service logs (every service, prefixed, when SERVICE is not given)."""
    if tail != "all" and not tail.isdigit():
        raise click.BadParameter(f"{tail!r}: a number of lines, or all", param_hint="--tail")
    chosen = log_sources(_workspace(name), service)
    prefix = service is None and len(chosen) > 1

    def write(svc: str, line: str) -> None:
        # Container output is untrusted: escape sequences are shown, not obeyed (tabs kept).
        shown = escape(line.removesuffix("\r"), newlines=False)
        click.echo(f"{escape(svc, newlines=False)} | {shown}" if prefix else shown)

    stream_logs(chosen, write, follow=follow, tail=int(tail) if tail.isdigit() else "all")


@click.command()
@click.argument("name", required=False, shell_complete=completer("workspace"))
@click.option(
    "--adopt-project-id",
    "adopt_id",
    metavar="ID",
    help="Write ID back as the project id (when .nexus/state/project-id was lost or corrupted).",
)
@json_option
def repair(name: str | None, adopt_id: str | None, as_json: bool) -> None:
    """Restore missing worktrees from their branches; prune stale and unlock locked entries.

    Uncommitted work in a folder that was deleted by hand cannot be restored.
    """
    project = _project()
    target = _workspace(name, project) if name is not None else None
    result = repair_workspaces(project, target, adopt_project_id=adopt_id)
    if adopt_id is not None:
        click.echo(f"project id set to {adopt_id}", err=True)
    if as_json:
        emit_json(result.to_json())
        return
    done = result.done
    if not done:
        click.echo("no workspaces to repair", err=True)
    for workspace, actions in done.items():
        for action in actions:
            click.echo(f"{workspace}: {escape(action)}", err=True)
