"""`nexus workflow`: multi-persona workflows whose stages become a chain of gated tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from nexus_cli.commands.task_common import me, open_task_store
from nexus_cli.errors import NexusError
from nexus_cli.lazy import NexusGroup
from nexus_cli.output import emit_json, info, json_option, print_table
from nexus_cli.plural import plural
from nexus_cli.project import find_project
from nexus_cli.tasks import approvals
from nexus_cli.telemetry.journal import invocation
from nexus_cli.terminal import escape
from nexus_cli.workflows import instantiate
from nexus_cli.workflows.catalog import load, read, sources

NAME = click.argument("name", metavar="NAME")


@click.group(cls=NexusGroup)
def workflow() -> None:
    """Workflows: stages done by personas, each guarded by gates (e.g. package-release).

    Shipped workflows live in the Nexus package; a project's own in .nexus/workflows/NAME.yaml
    (which override shipped ones of the same name).
    """
    invocation.note(event_type="workflow")


def _project_root() -> Path | None:
    try:
        return find_project().root
    except NexusError:
        return None


@workflow.command("list")
@json_option
def list_(as_json: bool) -> None:
    """List the workflows you can run (project ones first hide shipped ones)."""
    rows: list[dict[str, Any]] = []
    for source in sources(_project_root()):
        row: dict[str, Any] = {
            "name": source.name,
            "origin": source.origin,
            "path": str(source.path),
        }
        try:
            flow = read(source)
            row |= {"description": flow.description, "stages": [s.id for s in flow.stages]}
        except NexusError as exc:
            row |= {"description": "", "stages": [], "error": exc.message}
        rows.append(row)
    if as_json:
        emit_json(rows)
        return
    print_table(
        ["NAME", "ORIGIN", "STAGES", "DESCRIPTION"],
        [
            (
                r["name"],
                r["origin"],
                " -> ".join(r["stages"]),
                escape(f"invalid: {r['error']}" if "error" in r else r["description"]),
            )
            for r in rows
        ],
        empty="no workflows found",
    )


@workflow.command()
@NAME
@json_option
def show(name: str, as_json: bool) -> None:
    """Show the stages of workflow NAME: personas, gates and dependencies."""
    flow = load(name, _project_root())
    if as_json:
        emit_json(flow.to_dict())
        return
    click.echo(f"{flow.name} ({flow.origin}): {escape(flow.description)}")
    for var in flow.vars.values():
        how = "required" if var.required else f"default {var.default!r}"
        click.echo(f"  var {var.name} ({escape(how)}) {escape(var.description)}".rstrip())
    for stage in flow.stages:
        needs = ", ".join(stage.needs) or "nothing"
        click.echo(f"stage {stage.id}  persona {stage.persona}  needs {needs}")
        click.echo(f"  title: {escape(stage.title)}")
        if (stage.priority or flow.priority) is not None:
            click.echo(f"  priority: {escape(str(stage.priority or flow.priority))}")
        for gate in stage.gates:
            click.echo(f"  gate: {escape(gate)}")


@workflow.command()
@NAME
@click.option("--var", "assignments", multiple=True, metavar="K=V", help="Set a variable (repeat).")
@click.option("--workspace", metavar="W", help="Run the stages in this workspace's worktree.")
@click.option(
    "-p",
    "--priority",
    type=click.IntRange(0, 4),
    help=(
        "Priority of every stage's task, 0 (highest) to 4 "
        "(default: what the workflow says, else 2)."
    ),
)
@json_option
def run(
    name: str,
    assignments: tuple[str, ...],
    workspace: str | None,
    priority: int | None,
    as_json: bool,
) -> None:
    """Create one task per stage of workflow NAME, chained so `task ready` releases them in order."""
    store = open_task_store()
    flow = load(name, store.project.root)
    given = instantiate.parse_assignments(assignments)
    tasks = instantiate.run(store, flow, given, me(), workspace, priority)
    invocation.note(event_type="workflow")
    if as_json:
        emit_json([t.to_dict() for t in tasks])
    else:
        for task in tasks:
            after = f"  (after {', '.join(task.depends_on)})" if task.depends_on else ""
            click.echo(f"{task.id}  P{task.priority}  {escape(task.title)}{after}")
        info(f"{plural(len(tasks), 'task')} created; `nexus loop` works through them in order")
    if any(approvals.pending(store.project, t) for t in tasks):
        info(
            "their gates come from a workflow file, so they wait for a person's approval: "
            "nexus task gate approve --all"
        )
