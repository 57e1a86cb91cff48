"""Hot paths load only what they use: `task ready`, `workspace list` and `stats` in real processes.

Each command runs in a fresh interpreter through the real entry point (recording on, as by
default), and a wrapper prints which heavy modules were loaded when it exited. What each command
needs, and so what it may load:

- docker: only a workspace command in a project that has used a Docker engine (a template with
  services); never `task ready` or `stats`, never `workspace list` of bare workspaces.
- git (GitPython): none of them (git runs as plain `git` processes through nexus_cli.git).
- sqlite_utils: none of them once the telemetry database is up to date (reads and recording use
  sqlite3; the first read after the database is made applies its migrations with sqlite-utils).
- rich.table: only a table drawn on a terminal; never `--json` (even on a terminal), never text
  written to a pipe (plain columns).
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("docker", "git", "sqlite_utils", "rich.table")
WRAPPER = (
    "import json, os, sys\n"
    "from nexus_cli.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "sys.stdout.flush()\n"
    f"loaded = [m for m in {HEAVY!r} if m in sys.modules]\n"
    "with open(os.environ['HOT_PATH_REPORT'], 'w') as fh:\n"
    "    json.dump({'code': code, 'loaded': loaded}, fh)\n"
)


def _loaded(project: Path, report: Path, *args: str, tty: bool = False) -> list[str]:
    """The heavy modules `nexus ARGS` loaded, run in ``project`` (stdout a terminal if ``tty``)."""
    env = {**os.environ, "HOT_PATH_REPORT": str(report)}
    cmd = [sys.executable, "-c", WRAPPER, *args]
    if tty:
        leader, follower = pty.openpty()
        try:
            subprocess.run(cmd, cwd=project, env=env, stdout=follower, stderr=follower, check=False)
        finally:
            os.close(follower)
            os.close(leader)
    else:
        subprocess.run(cmd, cwd=project, env=env, capture_output=True, check=False)
    result = json.loads(report.read_text())
    assert result["code"] == 0, (args, result)
    loaded: list[str] = result["loaded"]
    return loaded


@pytest.fixture
def project(git_repo: Path) -> Path:
    """A project with a ready task, a bare workspace, and an up-to-date telemetry database."""
    nexus = [sys.executable, "-m", "nexus_cli"]
    for args in (
        ["init"],
        ["task", "create", "Ship it", "--gate", "true"],
        ["workspace", "create", "w1"],
        ["stats", "--json"],  # the first read applies the telemetry database's migrations
    ):
        subprocess.run([*nexus, *args], cwd=git_repo, check=True, capture_output=True)
    return git_repo


@pytest.mark.parametrize(
    "args",
    [
        ["task", "ready"],
        ["task", "ready", "--json"],
        ["workspace", "list"],
        ["workspace", "list", "--json"],
        ["stats"],
        ["stats", "--json"],
    ],
    ids=" ".join,
)
def test_hot_commands_load_nothing_heavy(project: Path, tmp_path: Path, args: list[str]) -> None:
    assert _loaded(project, tmp_path / "report.json", *args) == []


@pytest.mark.parametrize(
    "args", [["task", "ready", "--json"], ["workspace", "list", "--json"], ["stats", "--json"]]
)
def test_json_on_a_terminal_draws_no_table(project: Path, tmp_path: Path, args: list[str]) -> None:
    assert _loaded(project, tmp_path / "report.json", *args, tty=True) == []


def test_a_table_on_a_terminal_loads_rich_table(project: Path, tmp_path: Path) -> None:
    """The wrapper sees what a command loads: a table drawn on a terminal needs rich.table."""
    assert _loaded(project, tmp_path / "report.json", "task", "ready", tty=True) == ["rich.table"]


def test_workspace_list_asks_docker_once_the_project_used_it(project: Path, tmp_path: Path) -> None:
    (project / ".nexus" / "state" / "engine-used").write_text("")
    assert "docker" in _loaded(project, tmp_path / "report.json", "workspace", "list", "--json")


def test_a_workspace_with_services_needs_docker(project: Path, tmp_path: Path) -> None:
    templates = project / ".nexus" / "templates"
    templates.mkdir()
    (templates / "svc.yaml").write_text("services:\n  app:\n    image: busybox\n")
    subprocess.run(
        [sys.executable, "-m", "nexus_cli", "workspace", "create", "s1", "-t", "svc", "--no-start"],
        cwd=project,
        check=True,
        capture_output=True,
    )
    assert "docker" in _loaded(project, tmp_path / "report.json", "workspace", "list", "--json")


def test_a_worktree_folder_without_a_record_makes_list_look_for_containers(
    project: Path, tmp_path: Path
) -> None:
    (project / ".nexus" / "worktrees" / "lost").mkdir()
    assert "docker" in _loaded(project, tmp_path / "report.json", "workspace", "list", "--json")
