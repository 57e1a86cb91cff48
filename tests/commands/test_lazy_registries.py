"""The lazy registries (names, import paths and short helps kept apart from the commands) match
the commands they load."""

from __future__ import annotations

import click
import pytest

from nexus_cli.commands.mcp import mcp
from nexus_cli.commands.task import HIDDEN, SUBCOMMANDS, task
from nexus_cli.commands.workspace import OPS, workspace
from nexus_cli.lazy import NexusGroup

REGISTERED = [
    *((task, name, entry) for name, entry in sorted(SUBCOMMANDS.items())),
    *((workspace, name, entry) for name, entry in sorted(OPS.items())),
]


@pytest.mark.parametrize(
    ("group", "name", "entry"), REGISTERED, ids=[f"{g.name} {n}" for g, n, _ in REGISTERED]
)
def test_a_lazy_subcommand_is_registered_under_its_name_with_its_own_short_help(
    group: NexusGroup, name: str, entry: tuple[str, str]
) -> None:
    cmd = group.get_command(click.Context(group), name)
    assert cmd is not None
    assert cmd.name == name
    assert not cmd.hidden
    assert cmd.get_short_help_str(limit=150) == entry[1]


@pytest.mark.parametrize("name", sorted(HIDDEN))
def test_a_hidden_task_subcommand_runs_but_is_not_listed(name: str) -> None:
    ctx = click.Context(task)
    cmd = task.get_command(ctx, name)
    assert cmd is not None and cmd.name == name and cmd.hidden
    assert name not in task.list_commands(ctx)
    assert name not in task.get_help(ctx)
    assert name not in [item.value for item in task.shell_complete(ctx, "")]


def test_nexus_mcp_serve_is_hidden() -> None:
    ctx = click.Context(mcp)
    assert mcp.list_commands(ctx) == ["install", "uninstall"]
    assert "serve" not in mcp.get_help(ctx)
