"""``nexus template``: the workspace templates available here, and what one resolves to."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from nexus_cli.completion import completer
from nexus_cli.lazy import NexusGroup
from nexus_cli.output import emit_json, json_option, print_table

if TYPE_CHECKING:
    from pathlib import Path


def _root() -> Path | None:
    from nexus_cli.errors import NotAProjectError
    from nexus_cli.project import find_project

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
    from nexus_cli.errors import NexusError
    from nexus_cli.workspaces.templates import available, parse_template_file

    rows: list[dict[str, Any]] = []
    for name, (origin, path) in sorted(available(_root()).items()):
        services: list[str] | None
        try:
            parsed = parse_template_file(name, origin, path, {}, strict=False)
            services, description, error = list(parsed.services), parsed.description, None
        except NexusError as exc:
            services, description, error = None, None, exc.message
        rows.append(
            {
                "name": name,
                "origin": origin,
                "path": str(path),
                "services": services,
                "description": description,
                "error": error,
            }
        )
    if as_json:
        emit_json(rows)
        return
    print_table(("name", "origin", "services", "description"), [_cells(r) for r in rows])


def _cells(row: dict[str, Any]) -> tuple[str, ...]:
    services = row["services"]
    shown = "?" if services is None else (", ".join(services) or "-")
    description = f"INVALID: {row['error']}" if row["error"] else row["description"]
    return (row["name"], row["origin"], shown, description or "")


@template.command()
@click.argument("name", shell_complete=completer("template"))
@click.option(
    "--var", "variables", multiple=True, metavar="KEY=VALUE", help="Set a template variable."
)
@json_option
def show(name: str, variables: tuple[str, ...], as_json: bool) -> None:
    """Show NAME's resolved services, volumes, healthchecks and the ports it will allocate."""
    from nexus_cli.commands.workspace import _parse_vars
    from nexus_cli.workspaces.templates import find_template_file, parse_template_file

    origin, path = find_template_file(name, _root())
    parsed = parse_template_file(name, origin, path, _parse_vars(variables), strict=False)
    if as_json:
        emit_json(parsed)
        return
    click.echo(f"{name} ({origin}: {path})")
    if parsed.description:
        click.echo(f"  {parsed.description}")
    for var, default in parsed.variables.items():
        click.echo(f"  variable {var} = {default if default is not None else '(required)'}")
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
            click.echo(f"  {kind} hook in {hook.service}: {hook.command}")
