"""``nexus remember``, ``nexus forget`` and ``nexus memory``: project facts for agents."""

from __future__ import annotations

import click

from nexus_cli.commands.task_common import agent_option, project
from nexus_cli.output import emit_json, json_option, print_table
from nexus_cli.tasks import memory as facts
from nexus_cli.telemetry.journal import invocation
from nexus_cli.terminal import escape


@click.command()
@click.argument("text")
@click.option("--task", "task_id", metavar="ID", help="The task this was learned on.")
@agent_option
@json_option
def remember(text: str, task_id: str | None, agent: str | None, as_json: bool) -> None:
    """Remember a short project fact for every agent (shown by `nexus prime`).

    Example: nexus remember "integration tests need `make db` first"
    """
    invocation.note(event_type="task")
    fact = facts.remember(project(), text, agent=agent, task=task_id)
    if as_json:
        emit_json(fact.to_json())
        return
    click.echo(f"remembered {fact.id}", err=True)


@click.command()
@click.argument("fact_id", metavar="ID")
@agent_option
@json_option
def forget(fact_id: str, agent: str | None, as_json: bool) -> None:
    """Forget the project fact ID (see `nexus memory`)."""
    invocation.note(event_type="task")
    fact = facts.forget(project(), fact_id, agent=agent)
    if as_json:
        emit_json(fact.to_json())
        return
    click.echo(f"forgot {fact.id}: {escape(fact.text, newlines=False)}", err=True)


@click.command()
@json_option
def memory(as_json: bool) -> None:
    """List the project's facts, newest first (`nexus remember` adds, `nexus forget` drops)."""
    invocation.note(event_type="task")
    found = facts.read(project())
    if as_json:
        emit_json(found.to_json())
        return
    print_table(
        ("id", "when", "by", "fact"),
        [
            (f.id, f.at[:10], escape(f.by, newlines=False), escape(f.text, newlines=False))
            for f in found.facts
        ],
        empty='no facts yet: nexus remember "what every agent should know"',
    )
    if found.skipped:
        click.echo(f"({found.skipped} unusable lines in .nexus/memory.jsonl skipped)", err=True)
