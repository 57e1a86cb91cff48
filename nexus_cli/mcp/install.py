"""``nexus mcp install|uninstall``: plan, apply under a lock, record, take back byte for byte.

Each client's configuration file gets one managed entry (JSON files) or one managed block
(Codex's TOML). The lock (``.nexus/mcp.lock``, or ``mcp.lock`` in the user config folder for
``--global``) keeps each file's original bytes and the hash of what Nexus wrote: when the file is
unchanged since, uninstall writes the original back (or removes the file Nexus created); when
someone edited it since, only Nexus's entries are taken out.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexus_cli import fs, managed_block
from nexus_cli.errors import ConflictError, StateError, UsageError
from nexus_cli.mcp import config_json
from nexus_cli.paths import user_config_dir
from nexus_cli.project import find_project

SERVER = {"command": "nexus", "args": ["mcp"]}
HOOK_EVENTS = {"SessionStart": "nexus prime", "PreCompact": "nexus task context --current"}
BLOCK = "mcp"
CODEX_BLOCK = '[mcp_servers.nexus]\ncommand = "nexus"\nargs = ["mcp"]\n'


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


@dataclass
class Change:
    path: Path
    verb: str  # create, update, restore, remove
    before: str | None
    after: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "action": self.verb, "content": self.after}


@dataclass
class Plan:
    scope: Scope
    client: str
    lock_after: dict[str, Any]
    changes: list[Change] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"client": self.client, "changes": [c.to_dict() for c in self.changes]}


def _entries(client: str, is_global: bool, hooks: bool) -> dict[str, list[dict[str, Any]]]:
    """Relative file -> the entries Nexus adds there for ``client``."""
    if client == "vscode":
        if is_global:
            raise UsageError("VS Code's user MCP file lives in its profile; use the project file")
        server = {"type": "stdio", **SERVER}
        return {".vscode/mcp.json": [{"path": ["servers"], "key": "nexus", "value": server}]}
    if client == "cursor":
        return {".cursor/mcp.json": [{"path": ["mcpServers"], "key": "nexus", "value": SERVER}]}
    found = {
        (".claude.json" if is_global else ".mcp.json"): [
            {"path": ["mcpServers"], "key": "nexus", "value": SERVER}
        ]
    }
    if hooks:
        found[".claude/settings.json"] = [
            {
                "path": ["hooks", event],
                "item": {"hooks": [{"type": "command", "command": command}]},
            }
            for event, command in HOOK_EVENTS.items()
        ]
    return found


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise StateError(f"{path}: cannot read it: {exc}") from None


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_lock(path: Path) -> dict[str, Any]:
    text = _read(path)
    if text is None:
        return {"version": 1, "clients": {}}
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("clients"), dict):
            raise ValueError("no 'clients' object")
    except ValueError as exc:
        raise StateError(
            f"{path}: the MCP install lock is corrupt ({exc})",
            hint="restore it from git, or remove it to forget what Nexus installed",
        ) from None
    return data


def plan_install(sc: Scope, client: str, *, hooks: bool = False) -> Plan:
    if hooks and client != "claude":
        raise UsageError("--hooks is for --client claude (Claude Code's session hooks)")
    if client == "codex" and not sc.is_global:
        raise UsageError("Codex reads ~/.codex/config.toml only", hint="pass --global")
    lock = read_lock(sc.lock_path)
    if client in lock["clients"]:
        raise ConflictError(
            f"nexus is already installed for {client}",
            hint=f"run `nexus mcp uninstall --client {client}` first",
        )
    plan = Plan(sc, client, lock)
    records: dict[str, Any] = {}
    if client == "codex":
        _plan_codex(plan, records)
    else:
        for rel, entries in _entries(client, sc.is_global, hooks).items():
            path = sc.root / rel
            before = _read(path)
            data = config_json.parse(before, str(path))
            created = config_json.add(data, entries, str(path))
            after = config_json.render(data, before or "")
            if after == before:
                continue  # already there, exactly as Nexus would write it: the user's own
            plan.changes.append(
                Change(path, "update" if before is not None else "create", before, after)
            )
            records[rel] = {
                "original": before,
                "written": _sha(after),
                "entries": entries,
                "created": created,
            }
    lock["clients"][client] = {"files": records}
    return plan


def _plan_codex(plan: Plan, records: dict[str, Any]) -> None:
    rel = ".codex/config.toml"
    path = plan.scope.root / rel
    before = _read(path)
    if before is not None and "[mcp_servers.nexus]" in before:
        raise ConflictError(f"{path}: it already has an [mcp_servers.nexus] table")
    after = managed_block.upsert_block(before or "", BLOCK, CODEX_BLOCK)
    plan.changes.append(Change(path, "update" if before is not None else "create", before, after))
    records[rel] = {"original": before, "written": _sha(after), "block": BLOCK}


def plan_uninstall(sc: Scope, client: str) -> Plan:
    lock = read_lock(sc.lock_path)
    installed = lock["clients"].pop(client, None)
    plan = Plan(sc, client, lock)
    if installed is None:
        return plan
    for rel, record in installed["files"].items():
        path = sc.root / rel
        before = _read(path)
        if before is None:
            continue  # removed by hand: nothing of ours is left
        after = _taken_back(path, before, record)
        if after != before:
            verb = "remove" if after is None else "restore"
            plan.changes.append(Change(path, verb, before, after))
    return plan


def _taken_back(path: Path, current: str, record: dict[str, Any]) -> str | None:
    original: str | None = record["original"]
    if _sha(current) == record["written"]:
        return original  # untouched since: the original bytes (None: the file did not exist)
    if "block" in record:
        return managed_block.remove_block(current, record["block"])
    data = config_json.parse(current, str(path))
    config_json.remove(data, record["entries"], list(record["created"]), str(path))
    if data == config_json.parse(original, str(path)):
        return original if original is not None or data else None
    return config_json.render(data, current)


def apply(plan: Plan) -> None:
    """Write every change (after checking nothing moved since planning), then the lock."""
    plan.scope.lock_path.parent.mkdir(parents=True, exist_ok=True)
    with fs.locked(plan.scope.lock_path.with_name(plan.scope.lock_path.name + ".lck")):
        for change in plan.changes:
            if _read(change.path) != change.before:
                raise ConflictError(f"{change.path} changed while Nexus was planning; run again")
        for change in plan.changes:
            if change.after is None:
                change.path.unlink()
                continue
            change.path.parent.mkdir(parents=True, exist_ok=True)
            fs.atomic_write(change.path, change.after)
        lock = plan.lock_after
        if lock["clients"]:
            fs.atomic_write(plan.scope.lock_path, json.dumps(lock, indent=2, sort_keys=True) + "\n")
        elif plan.scope.lock_path.exists():
            plan.scope.lock_path.unlink()
