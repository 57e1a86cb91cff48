from __future__ import annotations

import click

from nexus_cli.output import emit_json, json_option
from nexus_cli.project import init_project
from nexus_cli.tasks.gitsetup import install_merge_driver
from nexus_cli.workspaces.handle import project_id_of


@click.command()
@json_option
def init(as_json: bool) -> None:
    """Create .nexus/ at the top level of the current git repository.

    Writes .nexus/config.yaml and a .nexus/.gitignore that keeps worktrees and databases out of
    git while config.yaml and tasks.jsonl stay tracked. Safe to run again: it only adds what is
    missing.
    """
    project, changed = init_project(hooks=(install_merge_driver,))
    project_id_of(project)  # made now (or checked against Docker), not by the first workspace
    if as_json:
        emit_json(
            {"root": str(project.root), "nexus_dir": str(project.nexus_dir), "changed": changed}
        )
        return
    if changed:
        click.echo(f"Initialized Nexus in {project.nexus_dir}")
        for path in changed:
            click.echo(f"  created {path}")
    else:
        click.echo(f"Nexus is already initialized in {project.nexus_dir}")
