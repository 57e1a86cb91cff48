"""The TOML edit behind ``nexus mcp install --client codex``: add and take back Nexus's tables.

Codex keeps its MCP servers in ``config.toml`` as ``[mcp_servers.NAME]`` tables (or keys of an
``[mcp_servers]`` table, inline or not). The file is read and written with tomlkit, which keeps
the user's other tables, comments and formatting; the result is then read back with the standard
library's own parser and must hold exactly the user's data plus Nexus's entry, or nothing is
written. Entries have the shape of :mod:`nexus_cli.config_json`'s (``path``/``key``/``value``).
"""

from __future__ import annotations

import copy
import tomllib
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import InlineTable

from nexus_cli.config_json import Insert, key_absent
from nexus_cli.errors import ConfigError

__all__ = ["add", "missing", "parse", "remove"]


def parse(text: str | None, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text or "")
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML ({exc}); Nexus will not rewrite it") from None


def _document(text: str, where: str) -> tomlkit.TOMLDocument:
    parse(text, where)  # the standard parser's verdict first: tomlkit accepts a little more
    try:
        return tomlkit.parse(text)
    except TOMLKitError as exc:
        raise ConfigError(f"{where}: not valid TOML ({exc}); Nexus will not rewrite it") from None


def _holder(data: dict[str, Any], path: list[str], where: str) -> dict[str, Any] | None:
    holder: Any = data
    for depth, key in enumerate(path):
        holder = holder.get(key)
        if holder is None:
            return None
        if not isinstance(holder, dict):
            raise ConfigError(f"{where}: {'.'.join(path[: depth + 1])!r} must be a table")
    return holder  # type: ignore[no-any-return]


def missing(text: str | None, entries: list[dict[str, Any]], where: str) -> list[dict[str, Any]]:
    """The entries not yet in the file; a key already set to something else is a conflict."""
    data = parse(text, where)
    return [e for e in entries if key_absent(_holder(data, e["path"], where), e, where)]


def _insertion(before: str, after: str) -> Insert | None:
    """The one insertion that turns ``before`` into ``after``, if that is all that changed."""
    if len(after) < len(before):
        return None
    prefix = 0
    limit = len(before)
    while prefix < limit and before[prefix] == after[prefix]:
        prefix += 1
    suffix = len(before) - prefix
    if before[prefix:] != after[len(after) - suffix :]:
        return None
    snippet = after[prefix : len(after) - suffix]
    # the same insertion, moved back to the start of its line where it can be
    while prefix and snippet and before[prefix - 1] != "\n" and snippet[-1] == before[prefix - 1]:
        prefix -= 1
        snippet = before[prefix] + snippet[:-1]
    return prefix, snippet


def _with_entry(text: str, entry: dict[str, Any]) -> str:
    """``text`` with ``entry`` added by tomlkit in the table it belongs to."""
    doc = tomlkit.parse(text)
    holder: Any = doc
    for key in entry["path"]:
        if key not in holder:
            holder[key] = tomlkit.table(is_super_table=True)
        holder = holder[key]
    value = tomlkit.inline_table() if isinstance(holder, InlineTable) else tomlkit.table()
    value.update(entry["value"])
    holder[entry["key"]] = value
    return tomlkit.dumps(doc)


def _appended(text: str, entry: dict[str, Any]) -> str:
    """``text`` with ``entry`` as a table of its own at the end."""
    table: Any = {entry["key"]: entry["value"]}
    for key in reversed(entry["path"]):
        table = {key: table}
    sep = "" if not text else ("\n" if text.endswith("\n") else "\n\n")
    return text + sep + tomlkit.dumps(table)


def add(
    text: str, entries: list[dict[str, Any]], where: str
) -> tuple[str, list[Insert] | None, list[str]]:
    """Add ``entries``: (new text, the insertions in order or None, the tables created)."""
    inserts: list[Insert] | None = []
    created: list[str] = []
    _document(text, where)
    for entry in entries:
        data = parse(text, where)
        path: list[str] = entry["path"]
        for depth in range(len(path)):
            if _holder(data, path[: depth + 1], where) is None:
                created.append(".".join(path[: depth + 1]))
        want = copy.deepcopy(data)
        holder: Any = want
        for key in path:
            holder = holder.setdefault(key, {})
        holder[entry["key"]] = entry["value"]
        for attempt in (_with_entry, _appended):
            after = attempt(text, entry)
            insert = _insertion(text, after)
            if insert is not None:
                offset, snippet = insert
                end = offset + len(snippet)
                if end < len(after) and after[end] == "[" and not snippet.endswith("\n\n"):
                    snippet += "\n"  # a blank line before the user's next table, as around ours
                    after = after[:offset] + snippet + after[end:]
                    insert = offset, snippet
            try:
                if tomllib.loads(after) == want:
                    break
            except tomllib.TOMLDecodeError:
                pass
        else:
            dotted = ".".join([*path, entry["key"]])
            raise ConfigError(
                f"{where}: Nexus cannot add {dotted!r} to this file without changing what it says",
                hint=f"add the [{dotted}] table by hand (see `nexus mcp install --print`)",
            )
        inserts = None if inserts is None or insert is None else [*inserts, insert]
        text = after
    return text, inserts, created


def remove(text: str, entries: list[dict[str, Any]], created: list[str], where: str) -> str:
    """``text`` without ``entries``, then without the tables Nexus created that are now empty."""
    doc = _document(text, where)
    for entry in entries:
        holder: Any = doc
        for key in entry["path"]:
            holder = holder.get(key) if hasattr(holder, "get") else None
        if hasattr(holder, "get") and entry["key"] in holder:
            current = holder[entry["key"]]
            plain = current.unwrap() if hasattr(current, "unwrap") else current
            if plain == entry["value"]:
                del holder[entry["key"]]
    for dotted in sorted(created, key=lambda k: -k.count(".")):
        *parents, leaf = dotted.split(".")
        holder = doc
        for key in parents:
            holder = holder.get(key) if hasattr(holder, "get") else None
        if hasattr(holder, "get") and leaf in holder and not holder[leaf]:
            del holder[leaf]
    return tomlkit.dumps(doc)
