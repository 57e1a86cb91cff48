"""The gate events of ``nexus hook``: each reads the client's JSON and prints the answer."""

from __future__ import annotations

import os

import click

from nexus_cli.commands.hook import answer, here, payload
from nexus_cli.mcp import hooks


@click.command()
def stop() -> int:
    """Keep the turn going while the session's task has a failing or unrun gate (3 times in a
    row at most); the failing gate's output is the reason the agent reads."""
    return answer(hooks.run("stop", payload(), os.environ, here()))


@click.command("subagent-stop")
def subagent_stop() -> int:
    """What `stop` does, for a subagent's turn."""
    return answer(hooks.run("subagent-stop", payload(), os.environ, here()))


@click.command("task-completed")
def task_completed() -> int:
    """Exit 2 (the reason on stderr) while a Claude Code task that names the session's Nexus
    task is marked completed and that task's gates do not pass."""
    return answer(hooks.run("task-completed", payload(), os.environ, here()))
