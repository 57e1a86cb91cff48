"""`nexus mcp` without the optional extra, and outside a project."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_process


def test_without_the_extra_it_names_the_install_command(project: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "mcp.py").write_text("raise ImportError('not installed', name='mcp')\n")
    result = run_process("mcp", cwd=project, env={"PYTHONPATH": str(blocker)})
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (
        "error: `nexus mcp` needs the MCP SDK (the optional `mcp` extra), which is not installed"
    )
    assert result.stderr.splitlines()[1].startswith("hint: install the MCP SDK with: ")
    assert "Traceback" not in result.stderr


def test_outside_a_project_it_says_so(git_repo: Path) -> None:
    result = run_process("mcp", cwd=git_repo)
    assert result.returncode == 1
    assert "nexus init" in result.stderr and "Traceback" not in result.stderr
