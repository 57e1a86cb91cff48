"""`nexus task edit|split|defer`: changing a task after it was created."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from nexus_cli.commands import options
from nexus_cli.commands.task_common import line, project, task_id_arg
from nexus_cli.completion import completer
from nexus_cli.errors import ConfigError, ConflictError, NotFoundError, UsageError
from nexus_cli.output import emit_json, info, json_option
from nexus_cli.plural import plural
from nexus_cli.tasks import edit_view
from nexus_cli.tasks.actions import defer as defer_task
from nexus_cli.tasks.actions import split as split_task
from nexus_cli.tasks.actions import update
from nexus_cli.tasks.model import DEFAULT_GATE_TIMEOUT_S, Gate
from nexus_cli.tasks.queries import show as show_task
from nexus_cli.tasks.results import TaskResult

_MAX_SPLIT_FILE = 1_000_000


def _print(result: TaskResult, as_json: bool) -> None:
    task = result.task
    if as_json:
        emit_json(result.to_json())
    else:
        click.echo(f"{task.id}  {task.status}  {line(task.assignee or '-')}  {line(task.title)}")


@click.command()
@task_id_arg
@click.option("--title", help="New title.")
@click.option("-d", "--description", help="New description.")
@click.option("-p", "--priority", type=click.IntRange(0, 4), help="New priority.")
@click.option("--add-label", "add_labels", multiple=True, metavar="L")
@click.option("--remove-label", "remove_labels", multiple=True, metavar="L")
@click.option(
    "--add-dep", "add_deps", multiple=True, metavar="ID", shell_complete=completer("task")
)
@click.option(
    "--remove-dep", "remove_deps", multiple=True, metavar="ID", shell_complete=completer("task")
)
@click.option(
    "--gate", "gates", multiple=True, metavar="CMD", help="Replace every command gate (repeat)."
)
@click.option(
    "--gate-timeout",
    type=click.IntRange(1),
    default=DEFAULT_GATE_TIMEOUT_S,
    show_default=True,
    help="Seconds per gate given with --gate.",
)
@click.option("--in", "service", metavar="SERVICE", help="Run the --gate gates in this service.")
@click.option("--no-gates", is_flag=True, help="Remove every gate (recorded in its history).")
@click.option(
    "--wait", "waits", multiple=True, metavar="SPEC", help="Replace every waiting gate (repeat)."
)
@click.option("--no-wait", is_flag=True, help="Remove every waiting gate.")
@click.option("--parent", metavar="ID", shell_complete=completer("task"), help="Make it a subtask.")
@click.option("--no-parent", is_flag=True, help="Make it a top-level task again.")
@json_option
def edit(
    task_id: str,
    title: str | None,
    description: str | None,
    priority: int | None,
    add_labels: tuple[str, ...],
    remove_labels: tuple[str, ...],
    add_deps: tuple[str, ...],
    remove_deps: tuple[str, ...],
    gates: tuple[str, ...],
    gate_timeout: int,
    service: str | None,
    no_gates: bool,
    waits: tuple[str, ...],
    no_wait: bool,
    parent: str | None,
    no_parent: bool,
    as_json: bool,
) -> None:
    """Change a task's title, description, priority, labels, dependencies, parent or gates.

    With no flag, opens a YAML view of the task in $EDITOR (else $VISUAL, else vi) and applies
    what you changed when you save and quit; a mistake is shown with its line and you can edit
    again. Every change is a history entry. Gates follow `nexus task gate add`: a new or changed
    gate is approved by this command only when it runs at a terminal; otherwise it waits for
    `nexus task gate approve ID`. --gate replaces the commands and keeps the waiting gates;
    --wait (approval:NAME, after:WHEN, task:ID, task:PATH#ID) replaces the waiting gates and
    keeps the commands.
    """
    if no_gates and (gates or waits or no_wait):
        raise UsageError("--no-gates excludes --gate, --wait and --no-wait")
    if no_wait and waits:
        raise UsageError("--no-wait and --wait exclude each other")
    if parent is not None and no_parent:
        raise UsageError("--parent and --no-parent exclude each other")
    if service is not None and not gates:
        raise UsageError("--in SERVICE applies to the gates given with --gate")
    changes: dict[str, Any] = {
        "title": title,
        "description": description,
        "priority": priority,
        "add_labels": add_labels,
        "remove_labels": remove_labels,
        "add_deps": add_deps,
        "remove_deps": remove_deps,
        "parent": "" if no_parent else parent,
    }
    if no_gates:
        changes["gates"] = []
    if gates:
        changes["commands"] = [Gate(c, gate_timeout, service) for c in gates]
    if waits or no_wait:
        changes["waits"] = list(waits)
    at_terminal = options.stdin_is_terminal()
    if any(v not in (None, ()) for v in changes.values()):
        result = update(project(), task_id, at_terminal=at_terminal, **changes)
        _print(result, as_json)
        _say_waiting(result, at_terminal, "gates" in changes or "commands" in changes)
        return
    if not at_terminal and not (os.environ.get("EDITOR") or os.environ.get("VISUAL")):
        raise UsageError(
            "nothing to change, and no terminal to open an editor in",
            hint="pass what to change (e.g. --title TEXT), or set $EDITOR",
        )
    edited = _edit_in_editor(task_id, at_terminal)
    if edited is not None:
        _print(edited, as_json)
        _say_waiting(edited, at_terminal, True)


def _say_waiting(result: TaskResult, at_terminal: bool, gates_given: bool) -> None:
    if gates_given and not at_terminal and result.task.gates:
        info(f"a new gate waits for a person's approval: nexus task gate approve {result.task.id}")


def _edit_in_editor(task_id: str, at_terminal: bool) -> TaskResult | None:
    """Open the YAML view until it is valid and applied, unchanged, or given up."""
    where = project()
    task = show_task(where, task_id).task
    original = edit_view.render(task)
    name = f"{task.id}.yaml"
    before = edit_view.read(original, name)
    text = original
    while True:
        edited = click.edit(text, extension=".yaml", require_save=True)
        if edited is None or edited == original:
            info(f"no change: task {task.id} is as it was")
            return None
        try:
            changes = edit_view.changes(before, edit_view.read(edited, name))
            if not changes:
                info(f"no change: task {task.id} is as it was")
                return None
            return update(where, task.id, at_terminal=at_terminal, **changes)
        except (ConfigError, UsageError, NotFoundError, ConflictError) as exc:
            if not at_terminal:
                raise
            info(f"error: {exc.message}")
            if not click.confirm("Edit again?", default=True, err=True):
                raise UsageError(f"nothing changed: {exc.message}") from None
            text = edited


@click.command()
@task_id_arg
@click.option("--into", "titles", multiple=True, metavar="TITLE", help="A subtask (repeat).")
@click.option(
    "--from-file",
    "from_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A file with one subtask title per line ('-': stdin); blank and '#' lines are skipped.",
)
@json_option
def split(task_id: str, titles: tuple[str, ...], from_file: Path | None, as_json: bool) -> None:
    """Turn a task into an epic: one subtask per title, each with the task's gates.

    The task is done only when every subtask is done and its own gates pass.
    """
    wanted = list(titles)
    if from_file is not None:
        wanted += _titles_from(from_file)
    if not wanted and from_file is not None:
        shown = "standard input" if str(from_file) == "-" else str(from_file)
        raise UsageError(f"--from-file: {shown} holds no subtask title (blank and '#' lines skip)")
    if not wanted:
        raise UsageError("give the subtasks with --into TITLE (repeat) or --from-file FILE")
    result = split_task(project(), task_id, wanted)
    if as_json:
        emit_json(result.to_json())
        return
    info(f"split {result.parent.id} into {plural(len(result.children), 'subtask')}")
    for child in result.children:
        click.echo(f"{child.id}  {line(child.title)}")


def _titles_from(path: Path) -> list[str]:
    try:
        if str(path) == "-":
            text = sys.stdin.read(_MAX_SPLIT_FILE + 1)
        else:
            with path.open(encoding="utf-8") as handle:
                text = handle.read(_MAX_SPLIT_FILE + 1)
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(text) > _MAX_SPLIT_FILE:
        raise UsageError(f"{path}: longer than {_MAX_SPLIT_FILE} characters")
    return [t.strip() for t in text.splitlines() if t.strip() and not t.lstrip().startswith("#")]


@click.command()
@task_id_arg
@click.option(
    "--until",
    metavar="DATE",
    help="YYYY-MM-DD (midnight UTC) or YYYY-MM-DDTHH:MM[:SS]Z (or +HH:MM).",
)
@click.option("--clear", is_flag=True, help="Offer it in `ready` again now.")
@json_option
def defer(task_id: str, until: str | None, clear: bool, as_json: bool) -> None:
    """Keep a task out of `task ready` until a date."""
    if (until is None) == (not clear):
        raise UsageError("give --until DATE or --clear")
    result = defer_task(project(), task_id, None if clear else until)
    _print(result, as_json)
    if not as_json and result.task.deferred_until:
        info(f"deferred until {result.task.deferred_until[:16].replace('T', ' ')} UTC")
