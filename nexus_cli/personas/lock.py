"""The lock file: everything personas installed, with hashes and owners, as JSON.

``.nexus/personas.lock`` for a project, ``<user config dir>/personas.lock`` for ``--global``.
Layout::

    {"version": 1,
     "personas": {NAME: {"level": L, "targets": [...], "origin": "builtin"}},
     "files":    {REL: {"sha256": HEX, "owner": NAME}},
     "dirs":     {REL: [NAME, ...]},
     "blocks":   {REL: {"created": bool, "owners": [NAME, ...]}},
     "settings": {REL: {"original": TEXT or null, "created_keys": [...],
                        "allow"|"ask"|"deny": {RULE: [NAME, ...]},
                        "env": {KEY: {"value": V, "owners": [NAME, ...]}}}}}
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from nexus_cli.errors import StateError

VERSION = 1
SECTIONS = ("personas", "files", "dirs", "blocks", "settings")


def empty() -> dict[str, Any]:
    return {"version": VERSION, **{section: {} for section in SECTIONS}}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return empty()
    except OSError as exc:
        raise StateError(f"{path}: cannot read the persona lock: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StateError(
            f"{path}: the persona lock is not valid JSON ({exc})",
            hint="restore it from git, or remove it to forget what Nexus installed",
        ) from None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise StateError(f"{path}: unsupported persona lock (expected version {VERSION})")
    for section in SECTIONS:
        if not isinstance(data.setdefault(section, {}), dict):
            raise StateError(f"{path}: key {section!r} of the persona lock must be an object")
    return data


def is_empty(data: dict[str, Any]) -> bool:
    return not any(data.get(section) for section in SECTIONS)


def render(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def write(path: Path, data: dict[str, Any]) -> None:
    """Write the lock atomically; remove it when nothing is installed any more."""
    if is_empty(data):
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(render(data))
    os.replace(tmp, path)
