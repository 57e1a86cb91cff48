"""The small JSON merge behind ``nexus mcp install``: add and take back Nexus's own entries.

An entry is either a key in an object (``{"path": ["mcpServers"], "key": "nexus", "value": …}``)
or an item in a list (``{"path": ["hooks", "SessionStart"], "item": …}``). The user's keys, their
order and the file's indentation are kept; objects and lists Nexus had to create are remembered
so that removing the entries removes them too.
"""

from __future__ import annotations

import json
from typing import Any

from nexus_cli.errors import ConfigError, ConflictError
from nexus_cli.personas.settings_json import render

__all__ = ["add", "parse", "remove", "render"]


def parse(text: str | None, where: str) -> dict[str, Any]:
    if text is None or not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where}: not valid JSON ({exc}); Nexus will not rewrite it") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a JSON object at the top level")
    return data


def _container(
    data: dict[str, Any], path: list[str], leaf: type, created: list[str] | None, where: str
) -> Any:
    """The object/list at ``path`` (created when ``created`` is a list to note it in)."""
    holder: Any = data
    for depth, key in enumerate(path):
        kind = leaf if depth == len(path) - 1 else dict
        if key not in holder:
            if created is None:
                return None
            holder[key] = kind()
            created.append(".".join(path[: depth + 1]))
        holder = holder[key]
        if not isinstance(holder, kind):
            dotted = ".".join(path[: depth + 1])
            raise ConfigError(
                f"{where}: key {dotted!r} must be a {'list' if kind is list else 'object'}"
            )
    return holder


def add(data: dict[str, Any], entries: list[dict[str, Any]], where: str) -> list[str]:
    """Add ``entries`` to ``data``; return the dotted keys created. Refuses to replace a user's."""
    created: list[str] = []
    for entry in entries:
        if "key" in entry:
            holder = _container(data, entry["path"], dict, created, where)
            current = holder.get(entry["key"])
            if current is not None and current != entry["value"]:
                dotted = ".".join([*entry["path"], entry["key"]])
                raise ConflictError(
                    f"{where}: {dotted!r} is already set to something else",
                    hint="remove or rename that entry first; Nexus will not overwrite it",
                )
            holder[entry["key"]] = entry["value"]
        else:
            items = _container(data, entry["path"], list, created, where)
            if entry["item"] not in items:
                items.append(entry["item"])
    return created


def remove(
    data: dict[str, Any], entries: list[dict[str, Any]], created: list[str], where: str
) -> None:
    """Take ``entries`` out of ``data``, then the containers Nexus created that are now empty."""
    for entry in entries:
        if "key" in entry:
            holder = _container(data, entry["path"], dict, None, where)
            if holder is not None and holder.get(entry["key"]) == entry["value"]:
                del holder[entry["key"]]
        else:
            items = _container(data, entry["path"], list, None, where)
            if items is not None and entry["item"] in items:
                items.remove(entry["item"])
    for dotted in sorted(created, key=lambda k: -k.count(".")):
        *parents, leaf = dotted.split(".")
        holder = _container(data, parents, dict, None, where) if parents else data
        if isinstance(holder, dict) and leaf in holder and not holder[leaf]:
            del holder[leaf]
