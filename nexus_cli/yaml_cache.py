"""Parsed YAML kept as JSON, so that a command reading unchanged files skips importing PyYAML.

Importing PyYAML costs ~20 ms, more than the rest of `workspace create -t bare` spends in Python;
the files it reads (``config.yaml``, templates, personas, workflows) rarely change between runs.

An entry is keyed by the file's absolute path and the kind of document, and holds the exact text
it was parsed from: it is used only when the text read now is the same, character for character,
so an edit is never missed (whatever its size or modification time). Only documents made of
JSON's types (mappings with string keys, lists, strings, numbers, booleans, null) are kept;
others (dates, binary, non-string keys, recursive aliases) are parsed every time. Entries are
JSON, never pickle, so a tampered cache cannot run code; the folders are private (0700) and live
in the user's own NEXUS_HOME or cache folder, trusted like the rest of them. A missing,
unreadable or corrupt entry is a miss, and a write that fails (read-only home, full disk) is
skipped: the cache never changes what a command does, only how fast it reads.
"""

from __future__ import annotations

import json
import os
import zlib
from typing import Any

from nexus_cli import __version__, fs
from nexus_cli.errors import NexusError
from nexus_cli.paths import cache_dir_str

FORMAT = 1
_MAX_DEPTH = 64


def _entry_path(path: str, what: str) -> str:
    key = f"{what}\0{path}".encode("utf-8", "surrogateescape")
    return os.path.join(cache_dir_str(), "yaml", f"{zlib.crc32(key):08x}.json")


def lookup(path: os.PathLike[str] | str, what: str, text: str) -> tuple[bool, Any]:
    """``(True, data)`` when ``text`` at ``path`` was parsed before, else ``(False, None)``."""
    key_path = os.path.abspath(os.fspath(path))
    try:
        with open(_entry_path(key_path, what), encoding="utf-8") as fh:
            entry = json.load(fh)
    except (OSError, ValueError):
        return False, None
    if (
        isinstance(entry, dict)
        and entry.get("format") == FORMAT
        and entry.get("nexus") == __version__
        and entry.get("path") == key_path
        and entry.get("what") == what
        and entry.get("text") == text
        and "data" in entry
    ):
        return True, entry["data"]
    return False, None


def store(path: os.PathLike[str] | str, what: str, text: str, data: Any) -> bool:
    """Keep ``data`` (parsed from ``text`` at ``path``) if JSON holds it exactly; True if kept."""
    if not is_plain(data):
        return False
    key_path = os.path.abspath(os.fspath(path))
    entry = {
        "format": FORMAT,
        "nexus": __version__,
        "path": key_path,
        "what": what,
        "text": text,
        "data": data,
    }
    target = _entry_path(key_path, what)
    try:
        folder = os.path.dirname(target)
        root = os.path.dirname(folder)
        for path_ in (os.path.dirname(root), root, folder):  # makedirs sets the leaf's mode only
            os.makedirs(path_, mode=0o700, exist_ok=True)
        fs.atomic_write(target, json.dumps(entry, ensure_ascii=False), mode=0o600, fsync=False)
    except (OSError, NexusError, ValueError):
        return False
    return True


def is_plain(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` survives a JSON round trip unchanged (JSON's types, string keys)."""
    if depth > _MAX_DEPTH:
        return False  # a recursive alias (`&a [*a]`) or absurd nesting: not worth keeping
    if value is None or isinstance(value, str | bool | int | float):
        return True
    if isinstance(value, list):
        return all(is_plain(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return all(
            isinstance(key, str) and is_plain(item, depth + 1) for key, item in value.items()
        )
    return False
