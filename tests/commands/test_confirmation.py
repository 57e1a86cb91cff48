"""One confirmation flag: every command that asks takes --yes/-y, asks only on a terminal, and
without one stops at once (exit 4) instead of waiting on a prompt nobody sees."""

from __future__ import annotations

import subprocess
from pathlib import Path

import click
import pytest

from nexus_cli.cli import cli
from tests.conftest import git, nexus_exe, run_nexus
from tests.tmux_terminal import nexus_command, terminal

ASKING = [
    ["workspace", "delete"],
    ["telemetry", "purge"],
    ["gpu", "impact"],
]


def _command(path: list[str]) -> click.Command:
    ctx = click.Context(cli)
    cmd: click.Command | None = cli
    for name in path:
        assert isinstance(cmd, click.Group)
        cmd = cmd.get_command(ctx, name)
    assert cmd is not None
    return cmd


@pytest.mark.parametrize("path", ASKING, ids=" ".join)
def test_every_asking_command_takes_yes_and_y(path: list[str]) -> None:
    yes = next(p for p in _command(path).params if p.name == "yes")
    assert isinstance(yes, click.Option)
    assert sorted(yes.opts) == ["--yes", "-y"] and yes.is_flag
    assert "required when stdin is not a terminal" in (yes.help or "")


def test_force_means_unsafe_and_says_so() -> None:
    for path in (["workspace", "delete"], ["export"], ["insights"], ["dashboard"]):
        force = next(p for p in _command(path).params if p.name == "force")
        assert isinstance(force, click.Option)
        assert "unsafe" in (force.help or ""), path


def test_an_open_pipe_without_yes_fails_at_once_instead_of_waiting(project: Path) -> None:
    """stdin is a pipe that never closes (an agent's or CI's): no prompt, exit 4, nothing done."""
    assert run_nexus("workspace", "create", "old").exit_code == 0
    proc = subprocess.Popen(
        [*nexus_exe(), "workspace", "delete", "old"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        code = proc.wait(timeout=60)
    finally:
        proc.kill()
        _out, err = proc.communicate()
    assert code == 4
    assert err.splitlines() == [
        "error: `nexus workspace delete` asks for confirmation and stdin is not a terminal",
        "hint: pass --yes (-y) to confirm without being asked",
    ]
    assert (project / ".nexus" / "worktrees" / "old").is_dir()


def test_workspace_delete_yes_and_force_alias(project: Path) -> None:
    for name in ("a", "b", "c"):
        assert run_nexus("workspace", "create", name).exit_code == 0
    assert run_nexus("workspace", "delete", "a", "--yes").exit_code == 0
    assert run_nexus("workspace", "delete", "b", "-y", "--json").json()["name"] == "b"
    path = project / ".nexus" / "worktrees" / "c"
    (path / "work.txt").write_text("unsaved")
    refused = run_nexus("workspace", "delete", "c", "--yes")  # --yes is not --force
    assert refused.exit_code == 1 and "uncommitted" in refused.stderr and path.exists()
    forced = run_nexus("workspace", "delete", "c", "--force")  # --force implies --yes
    assert forced.exit_code == 0, forced.stderr
    assert not path.exists()


def test_unsafe_or_unknown_is_refused_before_asking(project: Path) -> None:
    missing = run_nexus("workspace", "delete", "nope")
    assert missing.exit_code == 1 and "asks for confirmation" not in missing.stderr


def test_workspace_delete_asks_in_a_real_terminal(project: Path) -> None:
    assert run_nexus("workspace", "create", "keep").exit_code == 0
    assert run_nexus("workspace", "create", "drop").exit_code == 0
    with terminal(120, 20) as term:
        term.start(f"{nexus_command('workspace delete keep')}; echo EXITED-$?", str(project))
        term.wait(lambda s: "Delete workspace keep" in s and "[y/N]" in s)
        term.send_keys("n", "Enter")
        screen = term.wait(lambda s: "EXITED-" in s)
        assert "EXITED-1" in screen and "aborted" in screen
    assert (project / ".nexus" / "worktrees" / "keep").is_dir()
    with terminal(120, 20) as term:
        term.start(f"{nexus_command('workspace delete drop')}; echo EXITED-$?", str(project))
        term.wait(lambda s: "volumes (their data is lost)" in s)
        term.send_keys("y", "Enter")
        screen = term.wait(lambda s: "EXITED-" in s)
        assert "EXITED-0" in screen and "deleted workspace drop" in screen
    assert not (project / ".nexus" / "worktrees" / "drop").exists()
    assert git(project, "branch", "--list", "drop").strip() == ""
