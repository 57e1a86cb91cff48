"""`nexus mcp install|uninstall`: managed entries that come out byte for byte."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tomllib
from pathlib import Path

import pytest

from nexus_cli.mcp.install import RETIRED_HOOKS
from nexus_cli.paths import user_config_dir
from tests.conftest import run_nexus, run_process


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_ino, a.st_mtime_ns, a.st_size) == (b.st_ino, b.st_mtime_ns, b.st_size)


@pytest.mark.parametrize(
    ("client", "rel", "key"),
    [
        ("claude", ".mcp.json", "mcpServers"),
        ("cursor", ".cursor/mcp.json", "mcpServers"),
        ("gemini", ".gemini/settings.json", "mcpServers"),
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
    written = (project / rel).stat()
    lock = project / ".nexus" / "mcp.lock"
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600
    locked = lock.stat()
    again = run_nexus("mcp", "install", "--client", client)
    assert again.exit_code == 0, again.stderr
    assert f"the nexus MCP server is already installed for {client}; nothing to change" in (
        again.stderr
    )
    # nothing rewritten: neither the client's file nor the lock
    assert _same_file(written, (project / rel).stat())
    assert _same_file(locked, lock.stat())
    removed = run_nexus("mcp", "uninstall", "--client", client)
    assert removed.exit_code == 0, removed.stderr
    assert not (project / rel).exists()
    assert not (project / ".nexus" / "mcp.lock").exists()
    if "/" in rel:  # the folder the install made goes with its file
        assert not (project / rel).parent.exists()


def test_hooks_uninstall_leaves_no_folder_it_made_and_keeps_yours(project: Path) -> None:
    assert run_nexus("hooks", "install", "--client", "claude").exit_code == 0
    again = run_nexus("hooks", "install", "--client", "claude")
    assert "Nexus's hooks are already installed for claude" in again.stderr
    assert run_nexus("hooks", "uninstall", "--client", "claude").exit_code == 0
    assert not (project / ".claude").exists()
    (project / ".claude").mkdir()
    (project / ".claude" / "agents.md").write_text("mine\n")
    assert run_nexus("hooks", "install", "--client", "claude").exit_code == 0
    assert run_nexus("hooks", "uninstall", "--client", "claude").exit_code == 0
    assert sorted(p.name for p in (project / ".claude").iterdir()) == ["agents.md"]


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
    assert hooks["SessionStart"][0]["matcher"] == "startup|resume|compact"
    assert hooks["SessionStart"][0]["hooks"][0]["command"].endswith("nexus hook session-start")
    assert hooks["Stop"][0]["hooks"][0]["command"].endswith("nexus hook stop")
    assert "PreCompact" not in hooks
    assert run_nexus("mcp", "uninstall", "--client", "claude").exit_code == 0
    assert settings.read_text() == original
    assert not (project / ".mcp.json").exists()


def test_hooks_install_is_its_own_record(project: Path) -> None:
    settings = project / ".claude" / "settings.json"
    assert run_nexus("hooks", "install", "--client", "claude").exit_code == 0
    assert not (project / ".mcp.json").exists()  # hooks only, no MCP server entry
    lock = json.loads((project / ".nexus" / "mcp.lock").read_text())
    assert list(lock["clients"]) == ["claude-hooks"]
    again = run_nexus("hooks", "install", "--client", "claude")
    assert "already installed" in again.stderr
    assert run_nexus("mcp", "uninstall", "--client", "claude").exit_code == 0
    assert settings.exists()  # not what `mcp install` added
    assert run_nexus("hooks", "uninstall", "--client", "claude").exit_code == 0
    assert not settings.exists() and not (project / ".nexus" / "mcp.lock").exists()


def test_reinstalling_takes_out_the_retired_precompact_hook(project: Path) -> None:
    """What `--hooks` wrote before (SessionStart `nexus prime`, PreCompact) becomes the new set."""
    settings = project / ".claude" / "settings.json"
    settings.parent.mkdir()
    old = {"hooks": {e["path"][1]: [e["item"]] for e in RETIRED_HOOKS}}
    text = json.dumps(old, indent=2) + "\n"
    settings.write_text(text)
    record = {
        "format": "json",
        "created_file": True,
        "original_sha": None,
        "inserts": None,
        "written": hashlib.sha256(text.encode()).hexdigest(),
        "entries": list(RETIRED_HOOKS),
        "created": ["hooks", "hooks.SessionStart", "hooks.PreCompact"],
    }
    lock = {"version": 2, "clients": {"claude": {"files": {".claude/settings.json": record}}}}
    (project / ".nexus" / "mcp.lock").write_text(json.dumps(lock))
    assert run_nexus("mcp", "install", "--client", "claude", "--hooks").exit_code == 0
    hooks = json.loads(settings.read_text())["hooks"]
    assert "PreCompact" not in hooks
    commands = [g["hooks"][0]["command"] for g in hooks["SessionStart"]]
    assert commands == ["command -v nexus >/dev/null 2>&1 || exit 0; nexus hook session-start"]
    assert run_nexus("mcp", "uninstall", "--client", "claude").exit_code == 0
    assert not settings.exists()


def test_codex_hooks_go_to_hooks_json(project: Path) -> None:
    installed = run_nexus("hooks", "install", "--client", "codex")
    assert installed.exit_code == 0 and "codex_hooks = true" in installed.stderr
    data = json.loads((project / ".codex" / "hooks.json").read_text())
    assert set(data["hooks"]) == {"SessionStart", "Stop", "SubagentStop"}
    assert data["hooks"]["SessionStart"][0]["matcher"] == "startup|resume"
    assert run_nexus("hooks", "uninstall", "--client", "codex").exit_code == 0
    assert not (project / ".codex" / "hooks.json").exists()


def test_hooks_are_refused_for_a_client_without_them(project: Path) -> None:
    result = run_nexus("mcp", "install", "--client", "cursor", "--hooks")
    assert result.exit_code == 2 and "no lifecycle hooks" in result.stderr


def test_codex_global_config_gets_its_table(
    project: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CODEX_HOME", raising=False)
    config = isolated_home / ".codex" / "config.toml"
    config.parent.mkdir()
    original = 'model = "o3"\n'
    config.write_text(original)
    assert run_nexus("mcp", "install", "--client", "codex", "--global").exit_code == 0
    assert '[mcp_servers.nexus]\ncommand = "nexus"' in config.read_text()
    assert tomllib.loads(config.read_text())["model"] == "o3"
    assert not (project / ".codex").exists()
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


# --- #25: the lock records only what Nexus added, never a copy of the user's file; it is 0600 ---

ACCOUNT = (
    '{\n  "numStartups": 42,\n  "oauthAccount": {"emailAddress": "me@example.com",'
    ' "accountUuid": "secret-uuid-7f3a"},\n  "projects": {}\n}\n'
)


def test_global_claude_install_keeps_no_copy_of_claude_json(
    project: Path, isolated_home: Path
) -> None:
    claude_json = isolated_home / ".claude.json"
    claude_json.write_text(ACCOUNT)
    claude_json.chmod(0o600)
    result = run_nexus("mcp", "install", "--client", "claude", "--global")
    assert result.exit_code == 0, result.stderr
    data = json.loads(claude_json.read_text())
    assert data["mcpServers"]["nexus"] == {"command": "nexus", "args": ["mcp"]}
    assert data["oauthAccount"]["accountUuid"] == "secret-uuid-7f3a"
    assert stat.S_IMODE(claude_json.stat().st_mode) == 0o600  # the user's mode is kept
    lock = user_config_dir() / "mcp.lock"
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600
    text = lock.read_text()
    for secret in ("secret-uuid-7f3a", "me@example.com", "numStartups"):
        assert secret not in text
    assert run_nexus("mcp", "uninstall", "--client", "claude", "--global").exit_code == 0
    assert claude_json.read_text() == ACCOUNT  # byte for byte, from the lock's hashes only
    assert not lock.exists()


def test_global_claude_uninstall_after_claude_rewrote_its_file(
    project: Path, isolated_home: Path
) -> None:
    claude_json = isolated_home / ".claude.json"
    claude_json.write_text(ACCOUNT)
    assert run_nexus("mcp", "install", "--client", "claude", "--global").exit_code == 0
    data = json.loads(claude_json.read_text())
    data["numStartups"] = 43  # Claude Code rewrites this file all the time
    claude_json.write_text(json.dumps(data, indent=2) + "\n")
    assert run_nexus("mcp", "uninstall", "--client", "claude", "--global").exit_code == 0
    after = json.loads(claude_json.read_text())
    assert "mcpServers" not in after
    assert after["numStartups"] == 43 and after["oauthAccount"]["accountUuid"] == "secret-uuid-7f3a"


def test_an_old_lock_with_a_copy_of_the_file_is_scrubbed_and_made_private(
    project: Path, isolated_home: Path
) -> None:
    claude_json = isolated_home / ".claude.json"
    claude_json.write_text(ACCOUNT)
    assert run_nexus("mcp", "install", "--client", "claude", "--global").exit_code == 0
    lock = user_config_dir() / "mcp.lock"
    written = hashlib.sha256(claude_json.read_bytes()).hexdigest()
    entry = {"path": ["mcpServers"], "key": "nexus", "value": {"command": "nexus", "args": ["mcp"]}}
    old = {  # what Nexus wrote before: the whole original file, world-readable
        "version": 1,
        "clients": {
            "claude": {
                "files": {
                    ".claude.json": {
                        "original": ACCOUNT,
                        "written": written,
                        "entries": [entry],
                        "created": ["mcpServers"],
                    }
                }
            }
        },
    }
    lock.write_text(json.dumps(old))
    lock.chmod(0o644)
    result = run_nexus("mcp", "install", "--client", "claude", "--global")
    assert result.exit_code == 0 and "already installed" in result.stderr
    assert "secret-uuid-7f3a" not in lock.read_text()
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600
    assert run_nexus("mcp", "uninstall", "--client", "claude", "--global").exit_code == 0
    assert json.loads(claude_json.read_text()) == json.loads(ACCOUNT)


# --- #25: Codex's config.toml is read and written as TOML ---

CODEX_CONFIG = """# my Codex settings
model = "o3"  # the one I like

[mcp_servers]
# docs first
docs = { command = "npx", args = ["-y", "docs-mcp"] }

[profiles.fast]
model = "o4-mini"
"""


def test_codex_existing_mcp_servers_table_gets_no_duplicate(
    project: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CODEX_HOME", raising=False)
    config = isolated_home / ".codex" / "config.toml"
    config.parent.mkdir()
    text = '[mcp_servers]\nnexus = { command = "nexus", args = ["mcp"] }\n'
    config.write_text(text)
    result = run_nexus("mcp", "install", "--client", "codex", "--global")
    assert result.exit_code == 0, result.stderr
    assert "already installed" in result.stderr
    assert config.read_text() == text
    tomllib.loads(config.read_text())
    # and it is the user's own: uninstall leaves it
    assert run_nexus("mcp", "uninstall", "--client", "codex", "--global").exit_code == 0
    assert config.read_text() == text


def test_codex_keeps_the_users_tables_comments_and_formatting(
    project: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CODEX_HOME", raising=False)
    config = isolated_home / ".codex" / "config.toml"
    config.parent.mkdir()
    config.write_text(CODEX_CONFIG)
    assert run_nexus("mcp", "install", "--client", "codex", "--global").exit_code == 0
    after = config.read_text()
    data = tomllib.loads(after)
    assert data["mcp_servers"]["nexus"] == {"command": "nexus", "args": ["mcp"]}
    assert data["mcp_servers"]["docs"]["command"] == "npx"
    assert data["profiles"]["fast"]["model"] == "o4-mini"
    for line in CODEX_CONFIG.splitlines():
        assert line in after.splitlines()
    assert run_nexus("mcp", "install", "--client", "codex", "--global").exit_code == 0
    assert config.read_text() == after  # idempotent
    assert run_nexus("mcp", "uninstall", "--client", "codex", "--global").exit_code == 0
    assert config.read_text() == CODEX_CONFIG


def test_codex_uninstall_after_an_edit_keeps_the_edit(
    project: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CODEX_HOME", raising=False)
    config = isolated_home / ".codex" / "config.toml"
    config.parent.mkdir()
    config.write_text(CODEX_CONFIG)
    assert run_nexus("mcp", "install", "--client", "codex", "--global").exit_code == 0
    config.write_text(config.read_text() + '\n[profiles.slow]\nmodel = "o3-pro"\n')
    assert run_nexus("mcp", "uninstall", "--client", "codex", "--global").exit_code == 0
    data = tomllib.loads(config.read_text())
    assert "nexus" not in data["mcp_servers"] and "docs" in data["mcp_servers"]
    assert data["profiles"]["slow"]["model"] == "o3-pro"
    assert "# docs first" in config.read_text()


def test_codex_a_different_nexus_server_is_not_overwritten(
    project: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CODEX_HOME", raising=False)
    config = isolated_home / ".codex" / "config.toml"
    config.parent.mkdir()
    text = '[mcp_servers]\nnexus = { command = "/opt/nexus" }\n'
    config.write_text(text)
    result = run_nexus("mcp", "install", "--client", "codex", "--global")
    assert result.exit_code == 1 and "already set to something else" in result.stderr
    assert config.read_text() == text


def test_codex_invalid_toml_is_one_clear_line(
    project: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CODEX_HOME", raising=False)
    config = isolated_home / ".codex" / "config.toml"
    config.parent.mkdir()
    config.write_text("model = \n")
    result = run_nexus("mcp", "install", "--client", "codex", "--global")
    assert result.exit_code != 0
    assert "not valid TOML" in result.stderr and "Traceback" not in result.stderr
    assert config.read_text() == "model = \n"


def test_codex_honours_codex_home(
    project: Path, isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    codex_home = tmp_path / "elsewhere"
    codex_home.mkdir()
    monkeypatch.setenv("CODEX_HOME", str(codex_home))
    assert run_nexus("mcp", "install", "--client", "codex", "--global").exit_code == 0
    data = tomllib.loads((codex_home / "config.toml").read_text())
    assert data["mcp_servers"]["nexus"]["command"] == "nexus"
    assert not (isolated_home / ".codex").exists()
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "missing"))
    result = run_nexus("mcp", "install", "--client", "codex", "--global")
    assert result.exit_code == 2 and "CODEX_HOME" in result.stderr
    # uninstall uses the path it recorded, whatever CODEX_HOME says now
    assert run_nexus("mcp", "uninstall", "--client", "codex", "--global").exit_code == 0
    assert not (codex_home / "config.toml").exists()


def test_codex_project_config(project: Path, isolated_home: Path) -> None:
    result = run_nexus("mcp", "install", "--client", "codex")
    assert result.exit_code == 0, result.stderr
    data = tomllib.loads((project / ".codex" / "config.toml").read_text())
    assert data == {"mcp_servers": {"nexus": {"command": "nexus", "args": ["mcp"]}}}
    assert not (isolated_home / ".codex").exists()
    assert run_nexus("mcp", "uninstall", "--client", "codex").exit_code == 0
    assert not (project / ".codex" / "config.toml").exists()


# --- #25: install is idempotent and additive; VS Code's mcp.json is JSONC ---


def test_hooks_added_after_a_plain_install(project: Path) -> None:
    assert run_nexus("mcp", "install", "--client", "claude").exit_code == 0
    mcp_json = (project / ".mcp.json").read_text()
    result = run_nexus("mcp", "install", "--client", "claude", "--hooks")
    assert result.exit_code == 0, result.stderr
    assert (project / ".mcp.json").read_text() == mcp_json
    hooks = json.loads((project / ".claude" / "settings.json").read_text())["hooks"]
    assert hooks["SessionStart"][0]["hooks"][0]["command"].endswith("nexus hook session-start")
    again = run_nexus("mcp", "install", "--client", "claude", "--hooks")
    assert again.exit_code == 0 and "already installed" in again.stderr
    assert run_nexus("mcp", "uninstall", "--client", "claude").exit_code == 0
    assert not (project / ".mcp.json").exists()
    assert not (project / ".claude" / "settings.json").exists()


def test_an_entry_removed_by_hand_is_put_back(project: Path) -> None:
    assert run_nexus("mcp", "install", "--client", "cursor").exit_code == 0
    path = project / ".cursor" / "mcp.json"
    path.write_text('{"mcpServers": {"mine": {"command": "x"}}}\n')
    assert run_nexus("mcp", "install", "--client", "cursor").exit_code == 0
    assert set(json.loads(path.read_text())["mcpServers"]) == {"mine", "nexus"}
    assert run_nexus("mcp", "uninstall", "--client", "cursor").exit_code == 0
    assert json.loads(path.read_text()) == {"mcpServers": {"mine": {"command": "x"}}}


VSCODE_JSONC = """{
  // servers for this repository
  "servers": {
    /* the docs server */
    "docs": {"type": "stdio", "command": "npx", "args": ["-y", "docs-mcp"],},
  },
  "inputs": [],
}
"""


def test_vscode_jsonc_is_accepted_and_its_comments_kept(project: Path) -> None:
    path = project / ".vscode" / "mcp.json"
    path.parent.mkdir()
    path.write_text(VSCODE_JSONC)
    result = run_nexus("mcp", "install", "--client", "vscode")
    assert result.exit_code == 0, result.stderr
    after = path.read_text()
    assert "// servers for this repository" in after and "/* the docs server */" in after
    assert '"nexus": {' in after and '"type": "stdio"' in after
    assert not path.with_name("mcp.json.bak").exists()  # nothing lost, so no backup needed
    assert run_nexus("mcp", "install", "--client", "vscode").exit_code == 0
    assert path.read_text() == after
    assert run_nexus("mcp", "uninstall", "--client", "vscode").exit_code == 0
    assert path.read_text() == VSCODE_JSONC


def test_vscode_jsonc_uninstall_after_an_edit_keeps_comments(project: Path) -> None:
    path = project / ".vscode" / "mcp.json"
    path.parent.mkdir()
    path.write_text(VSCODE_JSONC)
    assert run_nexus("mcp", "install", "--client", "vscode").exit_code == 0
    path.write_text(path.read_text().replace('"inputs": []', '"inputs": [] /* added */'))
    assert run_nexus("mcp", "uninstall", "--client", "vscode").exit_code == 0
    after = path.read_text()
    assert '"nexus"' not in after and '"docs"' in after
    assert "// servers for this repository" in after and "/* added */" in after


def test_comments_in_a_strict_json_file_are_refused_in_one_line(project: Path) -> None:
    text = '{\n  // no comments in .mcp.json\n  "mcpServers": {}\n}\n'
    (project / ".mcp.json").write_text(text)
    result = run_nexus("mcp", "install", "--client", "claude")
    assert result.exit_code != 0 and "not valid JSON" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) <= 2
    assert (project / ".mcp.json").read_text() == text


def test_a_file_nexus_creates_in_the_home_folder_is_private(
    project: Path, isolated_home: Path
) -> None:
    assert run_nexus("mcp", "install", "--client", "claude", "--global").exit_code == 0
    assert stat.S_IMODE((isolated_home / ".claude.json").stat().st_mode) == 0o600
    assert run_nexus("mcp", "uninstall", "--client", "claude", "--global").exit_code == 0
    assert not (isolated_home / ".claude.json").exists()


def test_a_project_lock_naming_a_file_outside_the_project_is_refused(
    project: Path, isolated_home: Path
) -> None:
    victim = isolated_home / "victim.json"
    victim.write_text('{"mcpServers": {"nexus": {"command": "nexus", "args": ["mcp"]}}}\n')
    entry = {"path": ["mcpServers"], "key": "nexus", "value": {"command": "nexus", "args": ["mcp"]}}
    record = {"format": "json", "created_file": True, "original_sha": None, "written": "x",
              "inserts": None, "entries": [entry], "created": ["mcpServers"]}  # fmt: skip
    lock = {"version": 2, "clients": {"claude": {"files": {str(victim): record}}}}
    (project / ".nexus" / "mcp.lock").write_text(json.dumps(lock))
    result = run_nexus("mcp", "uninstall", "--client", "claude")
    assert result.exit_code != 0 and "outside the project" in result.stderr
    assert victim.exists()


def test_opencode_gets_a_local_server_in_opencode_json(project: Path) -> None:
    result = run_nexus("mcp", "install", "--client", "opencode")
    assert result.exit_code == 0, result.stderr
    data = json.loads((project / "opencode.json").read_text())
    # https://opencode.ai/docs/mcp-servers (read 2026-12-06): type local, command array, enabled
    assert data == {
        "mcp": {"nexus": {"type": "local", "command": ["nexus", "mcp"], "enabled": True}}
    }
    assert run_nexus("mcp", "install", "--client", "opencode", "--hooks").exit_code == 2
    assert run_nexus("mcp", "uninstall", "--client", "opencode").exit_code == 0
    assert not (project / "opencode.json").exists()


OPENCODE_JSONC = """\
{
  "$schema": "https://opencode.ai/config.json",
  // our model
  "model": "anthropic/claude-sonnet-4-5",
  "mcp": {
    /* the docs server */
    "docs": {"type": "remote", "url": "https://example.invalid/mcp", "enabled": true},
  },
}
"""


def test_opencode_jsonc_keeps_the_users_keys_and_comments(project: Path) -> None:
    path = project / "opencode.jsonc"
    path.write_text(OPENCODE_JSONC)
    result = run_nexus("mcp", "install", "--client", "opencode")
    assert result.exit_code == 0, result.stderr
    assert not (project / "opencode.json").exists()  # the .jsonc file is the one OpenCode reads
    after = path.read_text()
    assert "// our model" in after and "/* the docs server */" in after
    assert '"model": "anthropic/claude-sonnet-4-5"' in after and '"docs": {' in after
    assert '"nexus": {' in after and '"type": "local"' in after
    assert run_nexus("mcp", "install", "--client", "opencode").exit_code == 0
    assert path.read_text() == after
    assert run_nexus("mcp", "uninstall", "--client", "opencode").exit_code == 0
    assert path.read_text() == OPENCODE_JSONC


def test_opencode_global_goes_to_the_xdg_config_folder(
    project: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    result = run_nexus("mcp", "install", "--client", "opencode", "--global")
    assert result.exit_code == 0, result.stderr
    path = tmp_path / "xdg" / "opencode" / "opencode.json"
    assert json.loads(path.read_text())["mcp"]["nexus"]["command"] == ["nexus", "mcp"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert run_nexus("mcp", "uninstall", "--client", "opencode", "--global").exit_code == 0
    assert not path.exists()


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_a_committed_lock_cannot_make_uninstall_touch_a_file_that_is_not_the_clients(
    project: Path,
) -> None:
    """A repository's `.nexus/mcp.lock` claimed a source file and `.git/config` with its own
    hashes and "inserted" text: uninstall took a line out of the one and deleted the other."""
    (project / "app.py").write_text("def handler(req):\n    check_auth(req)\n    return 1\n")
    assert run_nexus("mcp", "install", "--client", "claude").exit_code == 0
    lock_path = project / ".nexus" / "mcp.lock"
    lock = json.loads(lock_path.read_text())
    files = lock["clients"]["claude"]["files"]
    app = (project / "app.py").read_text()
    cut = "    check_auth(req)\n"
    config = (project / ".git" / "config").read_text()
    files["app.py"] = {
        "format": "json", "created_file": False, "original_sha": _sha256(app.replace(cut, "")),
        "written": _sha256(app), "inserts": [[app.index(cut), cut]], "entries": [], "created": [],
    }  # fmt: skip
    files[".git/config"] = {
        "format": "json", "created_file": True, "original_sha": None, "written": _sha256(config),
        "inserts": [[0, config]], "entries": [], "created": [],
    }  # fmt: skip
    lock_path.write_text(json.dumps(lock))
    result = run_nexus("mcp", "uninstall", "--client", "claude")
    assert result.exit_code == 1 and "entries Nexus never installs for claude" in result.stderr
    assert (project / "app.py").read_text() == app and (project / ".git" / "config").is_file()
    assert (project / ".mcp.json").is_file()  # nothing was changed


def test_a_committed_lock_cannot_take_your_permission_rules_out(project: Path) -> None:
    settings = project / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text('{"permissions": {"deny": ["Bash(rm:*)"]}}\n')
    assert run_nexus("hooks", "install", "--client", "claude").exit_code == 0
    lock_path = project / ".nexus" / "mcp.lock"
    lock = json.loads(lock_path.read_text())
    record = lock["clients"]["claude-hooks"]["files"][".claude/settings.json"]
    record["entries"].append({"path": ["permissions"], "key": "deny", "value": ["Bash(rm:*)"]})
    lock_path.write_text(json.dumps(lock))
    result = run_nexus("hooks", "uninstall", "--client", "claude")
    assert result.exit_code == 1 and "never installs" in result.stderr
    assert json.loads(settings.read_text())["permissions"] == {"deny": ["Bash(rm:*)"]}


def test_recorded_insertions_restore_only_what_taking_nexus_out_gives(project: Path) -> None:
    """The byte-for-byte restore is used only when it equals the file without Nexus's entries:
    a lock whose insertions would also cut a rule of yours falls back to taking out the entries."""
    settings = project / ".claude" / "settings.json"
    settings.parent.mkdir()
    assert run_nexus("hooks", "install", "--client", "claude").exit_code == 0
    lock_path = project / ".nexus" / "mcp.lock"
    lock = json.loads(lock_path.read_text())
    record = lock["clients"]["claude-hooks"]["files"][".claude/settings.json"]
    text = settings.read_text()
    assert record["inserts"] is not None and text.startswith("{")
    mine = '\n  "permissions": {"deny": ["Bash(rm:*)"]},'
    changed = "{" + mine + text[1:]
    settings.write_text(changed)
    record["written"] = _sha256(changed)
    record["inserts"] = [[0, "{" + mine], *[[o + len(mine), t] for o, t in record["inserts"][1:]]]
    lock_path.write_text(json.dumps(lock))
    assert run_nexus("hooks", "uninstall", "--client", "claude").exit_code == 0
    kept = json.loads(settings.read_text())
    assert kept["permissions"] == {"deny": ["Bash(rm:*)"]} and "hooks" not in kept


def test_a_fifo_where_the_client_s_file_goes_is_refused_not_waited_on(project: Path) -> None:
    os.mkfifo(project / ".mcp.json")
    result = run_process("mcp", "install", "--client", "claude", cwd=project)
    assert result.returncode == 1 and "not a regular file" in result.stderr
