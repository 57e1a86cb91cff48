"""`nexus mcp install|uninstall`: managed entries that come out byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_nexus


@pytest.mark.parametrize(
    ("client", "rel", "key"),
    [
        ("claude", ".mcp.json", "mcpServers"),
        ("cursor", ".cursor/mcp.json", "mcpServers"),
        ("vscode", ".vscode/mcp.json", "servers"),
    ],
)
def test_install_then_uninstall_leaves_no_file_behind(
    project: Path, client: str, rel: str, key: str
) -> None:
    installed = run_nexus("mcp", "install", "--client", client)
    assert installed.exit_code == 0, installed.stderr
    data = json.loads((project / rel).read_text())
    assert data[key]["nexus"]["command"] == "nexus"
    assert data[key]["nexus"]["args"] == ["mcp"]
    again = run_nexus("mcp", "install", "--client", client)
    assert again.exit_code == 1 and "already installed" in again.stderr
    removed = run_nexus("mcp", "uninstall", "--client", client)
    assert removed.exit_code == 0, removed.stderr
    assert not (project / rel).exists()
    assert not (project / ".nexus" / "mcp.lock").exists()


def test_uninstall_restores_the_users_file_byte_for_byte(project: Path) -> None:
    original = '{\n    "mcpServers": {"other": {"command": "x"}},\n  "z": [1,2]\n}'
    (project / ".mcp.json").write_text(original)
    assert run_nexus("mcp", "install", "--client", "claude").exit_code == 0
    data = json.loads((project / ".mcp.json").read_text())
    assert list(data["mcpServers"]) == ["other", "nexus"]
    assert run_nexus("mcp", "uninstall", "--client", "claude").exit_code == 0
    assert (project / ".mcp.json").read_text() == original


def test_uninstall_after_a_user_edit_takes_out_only_nexus(project: Path) -> None:
    (project / ".mcp.json").write_text('{"mcpServers": {"other": {"command": "x"}}}\n')
    assert run_nexus("mcp", "install", "--client", "claude").exit_code == 0
    data = json.loads((project / ".mcp.json").read_text())
    data["added"] = True
    (project / ".mcp.json").write_text(json.dumps(data, indent=2) + "\n")
    assert run_nexus("mcp", "uninstall", "--client", "claude").exit_code == 0
    after = json.loads((project / ".mcp.json").read_text())
    assert after == {"mcpServers": {"other": {"command": "x"}}, "added": True}


def test_a_users_own_nexus_entry_is_never_overwritten(project: Path) -> None:
    text = '{"mcpServers": {"nexus": {"command": "/opt/nexus"}}}\n'
    (project / ".mcp.json").write_text(text)
    result = run_nexus("mcp", "install", "--client", "claude")
    assert result.exit_code == 1 and "already set to something else" in result.stderr
    assert (project / ".mcp.json").read_text() == text


def test_print_only_shows_the_entry(project: Path) -> None:
    result = run_nexus("mcp", "install", "--client", "cursor", "--print")
    assert result.exit_code == 0
    assert '"nexus"' in result.stdout
    assert not (project / ".cursor").exists()


def test_claude_hooks_are_added_and_removed_byte_for_byte(project: Path) -> None:
    settings = project / ".claude" / "settings.json"
    settings.parent.mkdir()
    original = '{\n  "permissions": {\n    "allow": ["Bash(ls)"]\n  }\n}\n'
    settings.write_text(original)
    assert run_nexus("mcp", "install", "--client", "claude", "--hooks").exit_code == 0
    hooks = json.loads(settings.read_text())["hooks"]
    assert hooks["SessionStart"][0]["hooks"][0]["command"] == "nexus prime"
    assert hooks["PreCompact"][0]["hooks"][0]["command"] == "nexus task context --current"
    assert run_nexus("mcp", "uninstall", "--client", "claude").exit_code == 0
    assert settings.read_text() == original
    assert not (project / ".mcp.json").exists()


def test_codex_global_config_gets_a_managed_block(project: Path, isolated_home: Path) -> None:
    config = isolated_home / ".codex" / "config.toml"
    config.parent.mkdir()
    original = 'model = "o3"\n'
    config.write_text(original)
    local = run_nexus("mcp", "install", "--client", "codex")
    assert local.exit_code == 2 and "--global" in local.stderr
    assert run_nexus("mcp", "install", "--client", "codex", "--global").exit_code == 0
    assert '[mcp_servers.nexus]\ncommand = "nexus"' in config.read_text()
    assert run_nexus("mcp", "uninstall", "--client", "codex", "--global").exit_code == 0
    assert config.read_text() == original


def test_install_without_the_sdk_warns_once_and_still_writes(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "mcp", None)  # the import system now finds no MCP SDK
    result = run_nexus("mcp", "install", "--client", "cursor")
    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert "MCP SDK is not installed" in warnings[0] and "install the MCP SDK with: " in warnings[0]
    assert json.loads((project / ".cursor/mcp.json").read_text())["mcpServers"]["nexus"]


def test_install_with_the_sdk_does_not_warn(project: Path) -> None:
    result = run_nexus("mcp", "install", "--client", "cursor")
    assert result.exit_code == 0 and "warning" not in result.stderr
