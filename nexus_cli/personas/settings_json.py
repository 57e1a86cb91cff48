"""Merging persona permissions and environment into Claude Code's ``settings.json``.

Only ``permissions.allow|ask|deny`` and ``env`` are touched. The user's keys and their order are
kept; the indentation is detected and reused; when every Nexus entry is gone and what is left
equals what the user had, the user's original bytes are written back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from nexus_cli import jsonio
from nexus_cli.errors import ConfigError
from nexus_cli.personas.model import PERMISSION_KEYS


@dataclass
class SettingsWant:
    """What one persona wants in one settings.json."""

    rules: dict[str, tuple[str, ...]] = field(default_factory=dict)  # allow/ask/deny -> rules
    env: dict[str, str] = field(default_factory=dict)


def parse(text: str, where: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    try:
        data = jsonio.loads(text)
    except jsonio.JSONError as exc:
        raise ConfigError(f"{where}: not valid JSON ({exc}); Nexus will not rewrite it") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a JSON object at the top level")
    for key, kind in (("permissions", dict), ("env", dict)):
        if key in data and not isinstance(data[key], kind):
            raise ConfigError(f"{where}: key {key!r} must be an object")
    for sub in PERMISSION_KEYS:
        rules = data.get("permissions", {}).get(sub)
        if rules is not None and not isinstance(rules, list):
            raise ConfigError(f"{where}: key 'permissions.{sub}' must be a list")
    return data


def render(data: dict[str, Any], like: str) -> str:
    """Serialise ``data`` the way ``like`` (the current text) was written, as far as JSON allows."""
    match = re.search(r"\n([ \t]+)\S", like)
    indent: str | int = match.group(1) if match else 2
    if like.strip() and "\n" not in like.strip():
        compact = '":' in like and '": ' not in like
        separators = (",", ":") if compact else (", ", ": ")
        text = jsonio.dumps(data, separators=separators)
    else:
        text = jsonio.dumps(data, indent=indent)
    return text + ("\n" if like.endswith("\n") or not like else "")


def add_rule(data: dict[str, Any], sub: str, rule: str, record: dict[str, Any]) -> str | None:
    """Own ``rule`` in ``permissions.<sub>`` for the caller. Returns why not, when it cannot."""
    owners: dict[str, list[str]] = record.setdefault(sub, {})
    perms = data.get("permissions")
    if perms is None:
        perms = data["permissions"] = {}
        record.setdefault("created_keys", []).append("permissions")
    rules: list[str] | None = perms.get(sub)
    if rules is None:
        rules = perms[sub] = []
        record.setdefault("created_keys", []).append(f"permissions.{sub}")
    if rule in rules and rule not in owners:
        return "user"  # the user's own rule: leave it theirs
    if rule not in rules:
        rules.append(rule)
    owners.setdefault(rule, [])
    return None


def drop_rule(data: dict[str, Any], sub: str, rule: str) -> None:
    rules = data.get("permissions", {}).get(sub)
    if isinstance(rules, list) and rule in rules:
        rules.remove(rule)


def set_env(data: dict[str, Any], key: str, value: str, record: dict[str, Any]) -> str | None:
    owned: dict[str, Any] = record.setdefault("env", {})
    env = data.get("env")
    if env is None:
        env = data["env"] = {}
        record.setdefault("created_keys", []).append("env")
    if key in owned:
        if owned[key]["value"] != value:
            return f"env {key}={owned[key]['value']!r} is already set by {owned[key]['owners']}"
        return None
    if key in env:
        return None if env[key] == value else f"env {key} is already set to {env[key]!r}"
    env[key] = value
    owned[key] = {"value": value, "owners": []}
    return None


def prune_created(data: dict[str, Any], record: dict[str, Any]) -> None:
    """Remove containers Nexus created that are empty again (deepest first)."""
    created: list[str] = record.get("created_keys", [])
    for key in sorted(created, key=lambda k: -k.count(".")):
        parent, _, leaf = key.rpartition(".")
        holder = data.get(parent) if parent else data
        if isinstance(holder, dict) and leaf in holder and not holder[leaf]:
            del holder[leaf]
            created.remove(key)
