"""Options and helpers shared by the `nexus task` command modules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from nexus_cli.completion import completer
from nexus_cli.output import emit_json

if TYPE_CHECKING:
    from nexus_cli.tasks.store import TaskStore

STATUS_CHOICES = click.Choice(
    ["open", "in_progress", "verifying", "review", "done", "rejected", "cancelled"]
)
task_id_arg = click.argument("task_id", metavar="ID", shell_complete=completer("task"))
agent_option = click.option(
    "--agent", metavar="NAME", help="Who you are (default: $NEXUS_AGENT, git user.name, $USER)."
)


def line(text: str) -> str:
    """Untrusted text (a title from a teammate) made safe for one line of plain output."""
    from nexus_cli.terminal import escape

    return escape(text, newlines=False)


def open_task_store() -> TaskStore:
    from nexus_cli.project import find_project
    from nexus_cli.tasks.store import open_store

    return open_store(find_project())


def me(agent: str | None = None) -> str:
    from nexus_cli.tasks.identity import current_agent

    return current_agent(agent)


def change_task(
    task_id: str, action: str, as_json: bool = False, agent: str | None = None, **kw: Any
) -> None:
    from nexus_cli.tasks.lifecycle import change

    changed = change(open_task_store(), task_id, me(agent), action, **kw)
    if as_json:
        emit_json(changed.to_dict())
    else:
        who = line(changed.assignee or "-")
        click.echo(f"{changed.id}  {changed.status}  {who}  {line(changed.title)}")
