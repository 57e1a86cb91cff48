"""Options and helpers shared by the `nexus task` command modules."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from nexus_cli.completion import completer
from nexus_cli.project import find_project
from nexus_cli.tasks.identity import current_agent
from nexus_cli.tasks.statuses import STATUSES
from nexus_cli.tasks.store import open_store
from nexus_cli.terminal import escape

if TYPE_CHECKING:
    from nexus_cli.project import Project
    from nexus_cli.tasks.store import TaskStore

STATUS_CHOICES = click.Choice(STATUSES)
task_id_arg = click.argument("task_id", metavar="ID", shell_complete=completer("task"))
agent_option = click.option(
    "--agent", metavar="NAME", help="Who you are (default: $NEXUS_AGENT, git user.name, $USER)."
)


def line(text: str) -> str:
    """Untrusted text (a title from a teammate) made safe for one line of plain output."""
    return escape(text, newlines=False)


def project() -> Project:
    return find_project()


def open_task_store() -> TaskStore:
    return open_store(project())


def me(agent: str | None = None) -> str:
    return current_agent(agent)
