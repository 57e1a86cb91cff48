"""Which configuration files each coding agent reads, and the entries Nexus adds there.

:mod:`nexus_cli.mcp.install` plans and applies the edits and keeps the lock; this module only
knows the clients: where each keeps its MCP servers and hooks (in the project, or in the user's
home for ``--global``), in which format, and what Nexus's server and hook entries look like.
Each location cites the client's documentation where Nexus read it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nexus_cli.errors import UsageError
from nexus_cli.paths import opencode_config_dir, user_config_dir
from nexus_cli.project import find_project

SERVER = {"command": "nexus", "args": ["mcp"]}
OPENCODE_SERVER = {"type": "local", "command": ["nexus", "mcp"], "enabled": True}
# (client event, matcher or None, `nexus hook` event). Claude Code adds a hook's plain stdout to
# the context only for SessionStart (UserPromptSubmit, UserPromptExpansion), so the briefing comes
# back after a compaction through SessionStart's `compact` matcher, not PreCompact:
# https://code.claude.com/docs/en/hooks (read 2026-12-06). Codex reads the same JSON shape from
# hooks.json beside its config; its SessionStart matchers are startup, resume and clear:
# https://developers.openai.com/codex/hooks (read 2026-12-06).
HOOKS: dict[str, tuple[tuple[str, str | None, str], ...]] = {
    "claude": (
        ("SessionStart", "startup|resume|compact", "session-start"),
        ("Stop", None, "stop"),
        ("SubagentStop", None, "subagent-stop"),
        ("TaskCompleted", None, "task-completed"),
    ),
    "codex": (
        ("SessionStart", "startup|resume", "session-start"),
        ("Stop", None, "stop"),
        ("SubagentStop", None, "subagent-stop"),
    ),
}
HOOK_CLIENTS = tuple(HOOKS)


def hook_command(event: str) -> str:
    """The shell command of one hook: silent, exit 0, where ``nexus`` is not installed (a
    settings file shared across machines, or Nexus uninstalled)."""
    return f"command -v nexus >/dev/null 2>&1 || exit 0; nexus hook {event}"


def hook_entries(client: str) -> list[dict[str, Any]]:
    entries = []
    for event, matcher, ours in HOOKS[client]:
        item: dict[str, Any] = {"hooks": [{"type": "command", "command": hook_command(ours)}]}
        if matcher is not None:
            item = {"matcher": matcher, **item}
        entries.append({"path": ["hooks", event], "item": item})
    return entries


@dataclass(frozen=True)
class Scope:
    root: Path  # the project root, or the home folder for --global
    lock_path: Path
    is_global: bool


def scope(is_global: bool) -> Scope:
    if is_global:
        return Scope(Path(os.path.expanduser("~")), user_config_dir() / "mcp.lock", True)

    root = find_project().require_initialized().root
    return Scope(root, root / ".nexus" / "mcp.lock", False)


@dataclass(frozen=True)
class Target:
    """One configuration file and the entries Nexus adds there."""

    key: str  # the lock's name for it: relative to the scope's root, or absolute
    path: Path
    fmt: str  # json, jsonc or toml
    entries: list[dict[str, Any]]


def codex_home() -> Path:
    """``$CODEX_HOME``, else ``~/.codex``: where Codex keeps its user config.

    Codex documents CODEX_HOME ("Sets the root for Codex state, including config … Default
    ~/.codex … If you set it, the directory must already exist"):
    https://developers.openai.com/codex/environment-variables
    """
    value = os.environ.get("CODEX_HOME")
    if not value:
        return Path(os.path.expanduser("~")) / ".codex"
    home = Path(value).expanduser()
    if not home.is_dir():
        raise UsageError(
            f"CODEX_HOME={value} is not a folder",
            hint="Codex needs it to exist: create it, or unset CODEX_HOME for ~/.codex",
        )
    return home


def opencode_config(sc: Scope) -> Path:
    """The OpenCode config file Nexus edits: ``opencode.jsonc`` where there is one, else
    ``opencode.json`` (created if need be), in the project or OpenCode's user folder."""
    folder = opencode_config_dir() if sc.is_global else sc.root
    jsonc = folder / "opencode.jsonc"
    return jsonc if jsonc.is_file() else folder / "opencode.json"


def target(sc: Scope, path: Path, fmt: str, entries: list[dict[str, Any]]) -> Target:
    try:
        key = str(path.relative_to(sc.root))
    except ValueError:
        key = str(path)
    return Target(key, path, fmt, entries)


def targets(client: str, sc: Scope, hooks: bool, server: bool = True) -> list[Target]:
    found = server_targets(client, sc) if server else []
    if hooks and client == "claude":
        path = sc.root / ".claude" / "settings.json"
        found.append(target(sc, path, "json", hook_entries(client)))
    elif hooks and client == "codex":
        folder = codex_home() if sc.is_global else sc.root / ".codex"
        found.append(target(sc, folder / "hooks.json", "json", hook_entries(client)))
    return found


def server_targets(client: str, sc: Scope) -> list[Target]:
    server_entry = {"path": ["mcpServers"], "key": "nexus", "value": SERVER}
    if client == "vscode":
        if sc.is_global:
            raise UsageError("VS Code's user MCP file lives in its profile; use the project file")
        entry = {"path": ["servers"], "key": "nexus", "value": {"type": "stdio", **SERVER}}
        # VS Code reads mcp.json as JSON with comments (// and /* */) and trailing commas
        return [target(sc, sc.root / ".vscode" / "mcp.json", "jsonc", [entry])]
    if client == "cursor":
        return [target(sc, sc.root / ".cursor" / "mcp.json", "json", [server_entry])]
    if client == "gemini":
        # Gemini CLI reads mcpServers from .gemini/settings.json in the project and in ~/.gemini:
        # https://geminicli.com/docs/tools/mcp-server (read 2026-12-06)
        return [target(sc, sc.root / ".gemini" / "settings.json", "json", [server_entry])]
    if client == "opencode":
        # OpenCode reads `mcp` from opencode.json or opencode.jsonc (JSON with comments either
        # way) in the project and in ~/.config/opencode; a local server is {"type": "local",
        # "command": [...], "enabled": true}. That is OpenCode 1's shape, which OpenCode 2 reads
        # unchanged: https://opencode.ai/docs/mcp-servers, https://opencode.ai/docs/config,
        # https://opencode.ai/docs/migrate-v1 (read 2026-12-06)
        entry = {"path": ["mcp"], "key": "nexus", "value": OPENCODE_SERVER}
        return [target(sc, opencode_config(sc), "jsonc", [entry])]
    if client == "codex":
        # Codex reads [mcp_servers.NAME] from the user config, $CODEX_HOME/config.toml, and — in a
        # project the user trusts — from the project's own .codex/config.toml ("you can add
        # project overrides with .codex/config.toml files. For security, Codex loads project
        # .codex/ layers only when you trust the project"):
        # https://developers.openai.com/codex/config-basic
        folder = codex_home() if sc.is_global else sc.root / ".codex"
        entry = {"path": ["mcp_servers"], "key": "nexus", "value": SERVER}
        return [target(sc, folder / "config.toml", "toml", [entry])]
    main = sc.root / (".claude.json" if sc.is_global else ".mcp.json")
    return [target(sc, main, "json", [server_entry])]
