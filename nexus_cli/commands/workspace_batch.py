"""``nexus workspace create A B C…``: several workspaces at once, in this one process."""

from __future__ import annotations

from typing import Any

import click

from nexus_cli.errors import ExitCode
from nexus_cli.output import emit_json
from nexus_cli.project import Project
from nexus_cli.tasks.workspace_hooks import container_hooks
from nexus_cli.tasks.workspace_hooks import load as load_workspace_hooks
from nexus_cli.telemetry.journal import invocation
from nexus_cli.terminal import escape
from nexus_cli.workspaces import batch
from nexus_cli.workspaces.host_hooks import CREATE_EVENTS


def create_several(
    project: Project,
    names: tuple[str, ...],
    *,
    template_name: str,
    from_ref: str | None,
    as_json: bool,
    **options: Any,
) -> int:
    """Create every workspace of ``names`` together (:func:`batch.create_many`); one line per
    workspace as it is ready, then the paths on stdout. Exit 0 only when every one was made."""
    invocation.note(event_type="workspace")
    requests = [batch.Request(n, template_name=template_name, from_ref=from_ref) for n in names]
    batch.check_names(project, requests)  # a bad or repeated name: nothing is started

    def shown(outcome: batch.Outcome) -> None:
        if as_json:
            return
        for message in outcome.messages:
            click.echo(f"{escape(outcome.name)}: {escape(message)}", err=True)
        if outcome.result is not None:
            ports = ", ".join(
                f"{a.service} {a.container_port}/{a.protocol} -> localhost:{a.host_port}"
                for a in outcome.result.ports
            )
            click.echo(
                f"created workspace {outcome.name} (template {outcome.result.template})"
                + (f": {ports}" if ports else ""),
                err=True,
            )
        elif outcome.error is not None:
            click.echo(f"error: {outcome.name}: {escape(outcome.error.message)}", err=True)

    result = batch.create_many(
        project,
        requests,
        hooks=load_workspace_hooks(project, CREATE_EVENTS),
        container_hooks=container_hooks(project),
        on_done=shown,
        **options,
    )
    if as_json:
        emit_json(result.to_json())
    else:
        for made in result.created:
            click.echo(str(made.path))
    errors = [o.error for o in result.failed if o.error is not None]
    if not errors:
        return int(ExitCode.OK)
    if not as_json:
        click.echo(
            f"{len(errors)} of {len(names)} workspaces not created "
            "(nothing of those is left); the others are ready",
            err=True,
        )
        for hint in dict.fromkeys(e.hint for e in errors if e.hint):  # once each, not per name
            click.echo(f"hint: {escape(hint)}", err=True)
    return int(errors[0].exit_code)
