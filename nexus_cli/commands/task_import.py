"""`nexus task import FILE --from beads|github`: tasks from another tracker's export."""

from __future__ import annotations

from pathlib import Path

import click

from nexus_cli.commands.options import shown_default_option
from nexus_cli.commands.task_common import agent_option, line, project
from nexus_cli.output import emit_json, info, json_option
from nexus_cli.plural import plural
from nexus_cli.tasks.import_formats import SOURCES
from nexus_cli.tasks.importing import import_file


@click.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--from", "source", type=click.Choice(SOURCES), required=True, help="Who wrote FILE.")
@click.option(
    "--gate",
    "gates",
    multiple=True,
    metavar="CMD",
    help="A gate for every imported task (repeat); it waits for a person's approval.",
)
@shown_default_option("--gate-timeout", click.IntRange(1), 600, "Seconds per gate.")
@click.option("--dry-run", is_flag=True, help="Show what would be created; change nothing.")
@agent_option
@json_option
def import_(
    file: Path,
    source: str,
    gates: tuple[str, ...],
    gate_timeout: int,
    dry_run: bool,
    agent: str | None,
    as_json: bool,
) -> None:
    """Import tasks from a beads JSONL export or a `gh issue list --json` file.

    Each task keeps its original id as a label (beads:bd-12, gh:#34), so importing the same
    file again creates nothing twice. A bad record is reported with its line and skipped.
    Imported gates wait for `nexus task gate approve`. Mapping: docs/tasks.md.
    """
    report = import_file(
        project(),
        file,
        source,
        dry_run=dry_run,
        gates=gates,
        gate_timeout_s=gate_timeout,
        agent=agent,
    )
    for problem in report.problems:
        info(f"{line(str(file))}: {problem.where}: {line(problem.message)}")
    if as_json:
        emit_json(report.to_json())
        return
    verb = "would create" if dry_run else "created"
    for record, task_id in report.created:
        shown = task_id or "(new)"
        click.echo(f"{shown}  {line(record.original)}  {record.status}  {line(record.title)}")
    for dependent, dependency in report.dependencies:
        click.echo(f"  {line(dependent)} depends on {line(dependency)}")
    skipped = sum(p.message.startswith("skipped") for p in report.problems)
    left = len(report.problems) - skipped
    info(
        f"{verb} {len(report.created)} task(s); {len(report.already)} already imported; "
        f"{skipped} skipped"
        + (f"; {plural(left, 'dependency', 'dependencies')} left out" if left else "")
    )
    if report.created and not dry_run and gates:
        info("their gates wait for a person: `nexus task gate approve ID`")
