"""The lock file: everything personas installed, with hashes and owners, as JSON.

``.nexus/personas.lock`` for a project, ``<user config dir>/personas.lock`` for ``--global``.
Layout::

    {"version": 1,
     "personas": {NAME: {"level": L, "targets": [...], "origin": "builtin", "layout": 2,
                         "legacy_commands": false}},
     "files":    {REL: {"sha256": HEX, "owner": NAME}},
     "dirs":     {REL: [NAME, ...]},
     "blocks":   {REL: {"created": bool, "owners": [NAME, ...],
                        "shared": {BLOCK: [NAME, ...]}}},  # "shared" only when present
     "settings": {REL: {"original": TEXT or null, "created_keys": [...],
                        "allow"|"ask"|"deny": {RULE: [NAME, ...]},
                        "env": {KEY: {"value": V, "owners": [NAME, ...]}}}}}
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any

from nexus_cli import jsonio, safe_path
from nexus_cli.errors import StateError
from nexus_cli.validate import persona_name

VERSION = 1
SECTIONS = ("personas", "files", "dirs", "blocks", "settings")


def empty() -> dict[str, Any]:
    return {"version": VERSION, **{section: {} for section in SECTIONS}}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read(path: Path, root: Path | None = None) -> dict[str, Any]:
    """The lock at ``path``; with ``root`` (the project) opened without following links."""
    try:
        text = safe_path.read_bytes(root or path.parent, path).decode("utf-8")
    except FileNotFoundError:
        return empty()
    except UnicodeDecodeError as exc:
        raise StateError(f"{path}: cannot read the persona lock: {exc}") from None
    except OSError as exc:
        raise StateError(f"{path}: cannot read the persona lock: {exc}") from None
    try:
        data = jsonio.loads(text)
    except jsonio.JSONError as exc:
        raise StateError(
            f"{path}: the persona lock is not valid JSON ({exc})",
            hint="restore it from git, or remove it to forget what Nexus installed",
        ) from None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise StateError(f"{path}: unsupported persona lock (expected version {VERSION})")
    for section in SECTIONS:
        if not isinstance(data.setdefault(section, {}), dict):
            raise StateError(f"{path}: key {section!r} of the persona lock must be an object")
    _check_names(data, path)
    return data


def _check_names(data: dict[str, Any], path: Path) -> None:
    """Every persona name in the lock must be a valid name: the lock may come from a commit."""
    names: list[Any] = list(data["personas"])
    try:
        for record in data["files"].values():
            names.append(record["owner"])
        for owners in data["dirs"].values():
            names.extend(owners)
        for record in data["blocks"].values():
            names.extend(record["owners"])
            for owners in record.get("shared", {}).values():
                names.extend(owners)
        for record in data["settings"].values():
            for sub in ("allow", "ask", "deny"):
                for owners in record.get(sub, {}).values():
                    names.extend(owners)
            for entry in record.get("env", {}).values():
                names.extend(entry["owners"])
    except (KeyError, TypeError, AttributeError):
        raise StateError(
            f"{path}: the persona lock is damaged (an entry lacks its owners)",
            hint="restore it from git, or remove it to forget what Nexus installed",
        ) from None
    for name in names:
        persona_name(name, source=path)


def is_empty(data: dict[str, Any]) -> bool:
    return not any(data.get(section) for section in SECTIONS)


def union(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Everything recorded in either lock: what an interrupted apply may have left installed."""
    merged = copy.deepcopy(after)
    for name, record in before["personas"].items():
        merged["personas"].setdefault(name, copy.deepcopy(record))
    for rel, record in before["files"].items():
        merged["files"].setdefault(rel, copy.deepcopy(record))
    for rel, owners in before["dirs"].items():
        merged["dirs"][rel] = _names(merged["dirs"].get(rel, []), owners)
    for rel, record in before["blocks"].items():
        target = merged["blocks"].setdefault(rel, copy.deepcopy(record))
        target["created"] = record["created"]
        target["owners"] = _names(target["owners"], record["owners"])
        for block, owners in record.get("shared", {}).items():
            shared = target.setdefault("shared", {})
            shared[block] = _names(shared.get(block, []), owners)
    for rel, record in before["settings"].items():
        target = merged["settings"].setdefault(rel, copy.deepcopy(record))
        target["original"] = record.get("original")
        target["created_keys"] = _names(
            target.get("created_keys", []), record.get("created_keys", [])
        )
        for sub in ("allow", "ask", "deny"):
            rules = target.setdefault(sub, {})
            for rule, owners in record.get(sub, {}).items():
                rules[rule] = _names(rules.get(rule, []), owners)
        env = target.setdefault("env", {})
        for key, entry in record.get("env", {}).items():
            env.setdefault(key, {"value": entry["value"], "owners": []})
            env[key]["owners"] = _names(env[key]["owners"], entry["owners"])
    return merged


def _names(first: list[str], second: list[str]) -> list[str]:
    return list(dict.fromkeys([*first, *second]))


def render(data: dict[str, Any]) -> bytes:
    return (jsonio.dumps(data, indent=2, sort_keys=True) + "\n").encode()


def write(path: Path, data: dict[str, Any], *, root: Path | None = None) -> None:
    """Write the lock atomically; remove it when nothing is installed any more.

    With ``root`` (the project) every folder down to the lock is opened without following links.
    """
    if root is None:
        root = path.parent
        if not is_empty(data):
            path.parent.mkdir(parents=True, exist_ok=True)
    if is_empty(data):
        safe_path.unlink(root, path)
        return
    safe_path.write_atomic(root, path, render(data), makedirs=True)
