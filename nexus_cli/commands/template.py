"""``nexus template``: the workspace templates available here, and what one resolves to."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from nexus_cli.commands.options import parse_vars
from nexus_cli.completion import completer
from nexus_cli.errors import NotAProjectError
from nexus_cli.lazy import NexusGroup
from nexus_cli.output import emit_json, json_option, print_table
from nexus_cli.project import find_project
from nexus_cli.terminal import escape
from nexus_cli.workspaces.devcontainer import import_devcontainer
from nexus_cli.workspaces.lookup import list_templates, show_template
from nexus_cli.workspaces.templates import load_template

if TYPE_CHECKING:
    from nexus_cli.workspaces.lookup import TemplateEntry


def _root() -> Path | None:
    try:
        return find_project().root
    except NotAProjectError:
        return None


@click.group(cls=NexusGroup)
def template() -> None:
    """Workspace templates: project (.nexus/templates), user, then built-in; project wins."""


@template.command(name="list")
@json_option
def list_(as_json: bool) -> None:
    """List the templates `nexus workspace create --template` accepts."""
    result = list_templates(_root())
    if as_json:
        emit_json(result.to_json())
        return
    print_table(
        ("name", "origin", "services", "description"), [_cells(t) for t in result.templates]
    )


def _cells(entry: TemplateEntry) -> tuple[str, ...]:
    services = entry.services
    shown = "?" if services is None else (", ".join(services) or "-")
    description = f"INVALID: {entry.error}" if entry.error else entry.description
    return (entry.name, entry.origin, shown, description or "")


@template.command()
@click.argument("name", shell_complete=completer("template"))
@click.option(
    "--var", "variables", multiple=True, metavar="KEY=VALUE", help="Set a template variable."
)
@json_option
def show(name: str, variables: tuple[str, ...], as_json: bool) -> None:
    """Show NAME's resolved services, volumes, healthchecks and the ports it will allocate."""
    parsed = show_template(name, _root(), parse_vars(variables))
    if as_json:
        emit_json(parsed.to_dict())
        return
    # the template is repository content: what it says reaches the terminal escaped
    click.echo(f"{name} ({parsed.origin}: {escape(str(parsed.path), newlines=False)})")
    if parsed.description:
        click.echo(f"  {escape(parsed.description, newlines=False)}")
    for var, default in parsed.variables.items():
        shown = escape(default, newlines=False) if default is not None else "(required)"
        click.echo(f"  variable {var} = {shown}")
    if not parsed.services:
        click.echo("  no services: a worktree only (works without Docker)")
        return
    print_table(
        (
            "service",
            "image",
            "ports (preferred host -> container)",
            "volumes",
            "health",
            "depends on",
        ),
        [
            (
                s.name,
                s.image,
                " ".join(
                    f"{p.preferred_host_port}->{p.container_port}/{p.protocol}" for p in s.ports
                )
                or "-",
                " ".join(f"{v.source}:{v.target}" for v in s.volumes) or "-",
                "yes" if s.healthcheck else "-",
                ", ".join(s.depends_on) or "-",
            )
            for s in parsed.start_order()
        ],
    )
    for kind, hooks in parsed.hooks.items():
        for hook in hooks:
            # the shell line that runs it, as `workspace hooks` shows and approves it
            click.echo(f"  {kind} hook in {hook.service}: {escape(hook.text, newlines=False)}")


@template.command(name="import")
@click.argument("file", metavar="DEVCONTAINER_JSON")
@click.option("--name", help="Name of the new template (default: devcontainer).")
@click.option("--force", is_flag=True, help="Replace a project template of that name.")
@json_option
def import_(file: str, name: str | None, force: bool, as_json: bool) -> None:
    """Import a devcontainer.json as a project template in .nexus/templates/."""
    root = find_project().root
    relative = Path(os.path.relpath(os.path.abspath(file), root)).as_posix()
    result = import_devcontainer(root, relative, name=name, force=force)
    if as_json:
        emit_json(result.to_json())
        return
    click.echo(f"imported {relative} as template {result.name} ({result.path})", err=True)
    if result.left_out:
        click.echo(
            f"  left out (only an editor acts on them): {', '.join(result.left_out)}", err=True
        )
    click.echo(f"  start it with: nexus workspace create NAME --template {result.name}", err=True)
    if load_template(result.name, root).hooks:  # repository content: each waits for a person
        click.echo(
            "  its postCreateCommand/postStartCommand run once you approved them: "
            f"nexus workspace hooks --approve --template {result.name}",
            err=True,
        )
