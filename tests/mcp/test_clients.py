"""`nexus doctor --agents`: each detected agent's MCP entry, the server answering, hooks, skills."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from tests.conftest import REPO_ROOT, run_nexus

SCHEMA = REPO_ROOT / "docs" / "schemas" / "v1" / "doctor.schema.json"


@pytest.fixture
def nexus_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The agents start `nexus mcp` by name: this environment's `nexus` comes first on PATH."""
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])


def _agents(*extra: str) -> list[dict[str, object]]:
    result = run_nexus("doctor", "--agents", "--json", *extra)
    data = json.loads(result.stdout)
    errors = [
        e.message for e in Draft202012Validator(json.loads(SCHEMA.read_text())).iter_errors(data)
    ]
    assert errors == []
    agents: list[dict[str, object]] = data["agents"]
    return agents


def test_a_set_up_claude_is_registered_reachable_hooked_and_has_skills(
    project: Path, nexus_on_path: None
) -> None:
    assert run_nexus("mcp", "install", "--client", "claude", "--hooks").exit_code == 0
    assert run_nexus("persona", "add", "testing", "--target", "claude").exit_code == 0
    (claude,) = _agents()
    assert claude["client"] == "claude"
    assert claude["config"] == [str(project / ".mcp.json")]
    assert claude["mcp_registered"] is True and claude["mcp_reachable"] is True
    assert isinstance(claude["tools"], int) and claude["tools"] > 10
    assert claude["hooks_installed"] is True and claude["skills"] == 2
    assert claude["problems"] == []


def test_an_agent_without_nexus_says_so_and_a_broken_file_is_named(project: Path) -> None:
    (project / ".cursor").mkdir()
    (project / ".cursor" / "mcp.json").write_text("{not json")
    (project / ".gemini").mkdir()
    agents = {a["client"]: a for a in _agents()}
    assert set(agents) == {"cursor", "gemini"}  # no other agent's folder exists
    assert agents["gemini"]["mcp_registered"] is False and agents["gemini"]["mcp_reachable"] is None
    assert agents["gemini"]["hooks_installed"] is None  # Nexus installs no Gemini hooks
    problems = agents["cursor"]["problems"]
    assert isinstance(problems, list) and "not valid JSON" in problems[0]


def test_a_server_that_does_not_start_is_reported(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / ".mcp.json").write_text(
        '{"mcpServers": {"nexus": {"command": "nexus", "args": ["mcp"]}}}'
    )
    (project / ".claude").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no nexus where the agent looks
    (claude,) = _agents()
    assert claude["mcp_registered"] is True and claude["mcp_reachable"] is False
    problems = claude["problems"]
    assert isinstance(problems, list) and problems[0].startswith("`nexus mcp` did not answer")


@pytest.mark.parametrize(
    "entry",
    [
        '{"command": "sh", "args": ["-c", "touch {marker}"]}',
        '{"command": "/nonexistent/nexus", "args": ["mcp"]}',  # a nexus the repository ships
        '{"command": "nexus", "args": ["mcp", "; touch {marker}"]}',
    ],
)
def test_a_repository_s_server_entry_is_named_never_started(
    project: Path, tmp_path: Path, entry: str
) -> None:
    """The doctor starts only `nexus mcp`: a repository's `.mcp.json` chooses any command."""
    marker = tmp_path / "ran"
    text = entry.replace("{marker}", str(marker))
    (project / ".mcp.json").write_text('{"mcpServers": {"nexus": ' + text + "}}")
    (project / ".claude").mkdir()
    (claude,) = _agents()
    assert not marker.exists()
    assert claude["mcp_registered"] is True and claude["mcp_reachable"] is None
    problems = claude["problems"]
    assert isinstance(problems, list) and "not `nexus mcp`: the doctor starts only" in problems[0]


def test_the_agents_checks_never_change_the_exit_code(project: Path) -> None:
    plain = run_nexus("doctor")
    (project / ".cursor").mkdir()
    (project / ".cursor" / "mcp.json").write_text("{not json")
    assert run_nexus("doctor", "--agents").exit_code == plain.exit_code


def test_opencode_is_detected_by_its_config_and_its_command_array_is_started(
    project: Path, nexus_on_path: None
) -> None:
    assert run_nexus("mcp", "install", "--client", "opencode").exit_code == 0
    assert run_nexus("persona", "add", "testing", "--target", "opencode").exit_code == 0
    agents = {a["client"]: a for a in _agents()}
    opencode = agents["opencode"]
    assert opencode["config"] == [str(project / "opencode.json")]
    assert opencode["mcp_registered"] is True and opencode["mcp_reachable"] is True
    assert isinstance(opencode["tools"], int) and opencode["tools"] > 10
    assert opencode["hooks_installed"] is None  # OpenCode's hooks are JS plugins, not commands
    assert opencode["skills"] == 2 and opencode["problems"] == []


def test_a_disabled_opencode_server_is_a_problem(project: Path, isolated_home: Path) -> None:
    folder = isolated_home / ".config" / "opencode"
    folder.mkdir(parents=True)
    (folder / "opencode.jsonc").write_text(
        '{\n  // mine\n  "mcp": {"nexus": {"type": "local", "command": ["nexus", "mcp"], '
        '"enabled": false},},\n}\n'
    )
    (opencode,) = [a for a in _agents() if a["client"] == "opencode"]
    assert opencode["config"] == [str(folder / "opencode.jsonc")]
    assert "registered but disabled" in str(opencode["problems"])
