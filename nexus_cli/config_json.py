"""The text-level JSON (and JSONC) edit behind ``nexus mcp install``: add and take back entries.

An entry is either a key in an object (``{"path": ["mcpServers"], "key": "nexus", "value": …}``)
or an item in a list (``{"path": ["hooks", "SessionStart"], "item": …}``). Nothing is parsed,
changed and re-serialised: each entry is *inserted* into the user's text, so their keys, order,
indentation — and, in JSONC files such as VS Code's ``.vscode/mcp.json``, their ``//`` and
``/* */`` comments and trailing commas — stay exactly as they were. :func:`add` returns each
insertion (offset and text, Nexus's own text only), so that taking them out again in reverse gives
back the user's bytes without Nexus ever keeping a copy of their file. When the file was edited
since, :func:`remove` finds Nexus's entries in the new text and cuts out only those.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from nexus_cli.errors import ConfigError, ConflictError

__all__ = ["Insert", "add", "key_absent", "missing", "parse", "remove", "undo"]

Insert = tuple[int, str]  # (offset in the text after the insertion's predecessors, text)

_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\.)*"')
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_LITERALS = {"true": True, "false": False, "null": None}
# Deeper nesting is refused with a clear error, never a RecursionError: files such as a
# repository's devcontainer.json are untrusted, and no real configuration comes near it.
MAX_DEPTH = 200


@dataclass
class _Member:
    key: str | None  # None for an array item
    start: int  # where the key (or the item) starts
    node: _Node
    comma: int | None = None  # the comma after it, if any


@dataclass
class _Node:
    start: int
    end: int
    value: Any
    members: list[_Member] = field(default_factory=list)
    close: int = 0  # objects and arrays: the offset of the closing bracket


class _Parser:
    """A JSON parser that keeps where every value lies (and, for JSONC, skips comments)."""

    def __init__(self, text: str, where: str, jsonc: bool) -> None:
        self.text, self.where, self.jsonc, self.pos = text, where, jsonc, 0
        self.depth = 0

    def fail(self, why: str) -> ConfigError:
        line = self.text.count("\n", 0, self.pos) + 1
        column = self.pos - (self.text.rfind("\n", 0, self.pos) + 1) + 1
        kind = "JSON with comments" if self.jsonc else "JSON"
        return ConfigError(
            f"{self.where}: not valid {kind} ({why} at line {line} column {column}); "
            "Nexus will not rewrite it"
        )

    def skip(self) -> None:
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char in " \t\r\n":
                self.pos += 1
            elif self.jsonc and text.startswith("//", self.pos):
                newline = text.find("\n", self.pos)
                self.pos = len(text) if newline < 0 else newline + 1
            elif self.jsonc and text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    raise self.fail("unterminated comment")
                self.pos = end + 2
            else:
                return

    def has_content(self) -> bool:
        """True when the text holds something other than blanks and comments."""
        self.skip()
        return self.pos < len(self.text)

    def document(self) -> _Node:
        self.skip()
        node = self.value()
        self.skip()
        if self.pos != len(self.text):
            raise self.fail("extra data")
        return node

    def value(self) -> _Node:
        text, start = self.text, self.pos
        if start >= len(text):
            raise self.fail("expected a value")
        char = text[start]
        if char in "{[":
            return self.container(char == "{")
        if char == '"':
            value = self.string()
            return _Node(start, self.pos, value)
        for word, literal in _LITERALS.items():
            if text.startswith(word, start):
                self.pos += len(word)
                return _Node(start, self.pos, literal)
        match = _NUMBER.match(text, start)
        if not match:
            raise self.fail("expected a value")
        self.pos = match.end()
        return _Node(start, self.pos, json.loads(match.group()))

    def string(self) -> str:
        match = _STRING.match(self.text, self.pos)
        try:
            value = json.loads(match.group()) if match else None
        except ValueError:
            value = None
        if not isinstance(value, str):
            raise self.fail("bad string")
        assert match is not None
        self.pos = match.end()
        return value

    def container(self, is_object: bool) -> _Node:
        if self.depth >= MAX_DEPTH:
            raise self.fail(f"nested more than {MAX_DEPTH} levels deep")
        self.depth += 1
        try:
            return self._container(is_object)
        finally:
            self.depth -= 1

    def _container(self, is_object: bool) -> _Node:
        node = _Node(self.pos, 0, {} if is_object else [])
        closer = "}" if is_object else "]"
        self.pos += 1
        while True:
            self.skip()
            if self.text.startswith(closer, self.pos):
                if node.members and node.members[-1].comma is not None and not self.jsonc:
                    raise self.fail("trailing comma")
                break
            if node.members and node.members[-1].comma is None:
                raise self.fail(f"expected ',' or '{closer}'")
            start, key = self.pos, None
            if is_object:
                if not self.text.startswith('"', self.pos):
                    raise self.fail("expected a key in double quotes")
                key = self.string()
                self.skip()
                if not self.text.startswith(":", self.pos):
                    raise self.fail("expected ':'")
                self.pos += 1
                self.skip()
            member = _Member(key, start, self.value())
            node.members.append(member)
            if is_object:
                node.value[key] = member.node.value
            else:
                node.value.append(member.node.value)
            self.skip()
            if self.text.startswith(",", self.pos):
                member.comma = self.pos
                self.pos += 1
        node.close = self.pos
        self.pos += 1
        node.end = self.pos
        return node


def _root(text: str, where: str, jsonc: bool) -> _Node | None:
    if not text.strip() or (jsonc and not _Parser(text, where, jsonc).has_content()):
        return None
    node = _Parser(text, where, jsonc).document()
    if not isinstance(node.value, dict):
        raise ConfigError(f"{where}: expected a JSON object at the top level")
    return node


def parse(text: str | None, where: str, *, jsonc: bool = False) -> dict[str, Any]:
    """The document's value (``{}`` for no file or an empty one)."""
    node = _root(text or "", where, jsonc)
    return {} if node is None else dict(node.value)


def _walk(node: _Node, path: list[str], leaf: type, where: str) -> tuple[_Node, int]:
    """The deepest existing container on ``path`` and how many steps of ``path`` it took."""
    for depth, key in enumerate(path):
        found = next((m.node for m in reversed(node.members) if m.key == key), None)
        if found is None:
            return node, depth
        kind = leaf if depth == len(path) - 1 else dict
        if not isinstance(found.value, kind):
            dotted = ".".join(path[: depth + 1])
            raise ConfigError(
                f"{where}: key {dotted!r} must be {'a list' if kind is list else 'an object'}"
            )
        node = found
    return node, len(path)


def missing(
    text: str | None, entries: list[dict[str, Any]], where: str, *, jsonc: bool
) -> list[dict[str, Any]]:
    """The entries not yet in the text. A key already set to something else is a conflict."""
    data = parse(text, where, jsonc=jsonc)
    absent = []
    for entry in entries:
        holder: Any = data
        for depth, key in enumerate(entry["path"]):
            holder = holder.get(key) if isinstance(holder, dict) else None
            kind = (dict if "key" in entry else list) if depth == len(entry["path"]) - 1 else dict
            if holder is not None and not isinstance(holder, kind):
                dotted = ".".join(entry["path"][: depth + 1])
                raise ConfigError(
                    f"{where}: key {dotted!r} must be {'a list' if kind is list else 'an object'}"
                )
        if "key" in entry:
            if key_absent(holder, entry, where):
                absent.append(entry)
        elif holder is None or entry["item"] not in holder:
            absent.append(entry)
    return absent


def key_absent(holder: dict[str, Any] | None, entry: dict[str, Any], where: str) -> bool:
    """Whether the keyed ``entry`` is not yet in ``holder``; the key already set to something
    else is a conflict (Nexus never overwrites a user's entry). Shared by the TOML editor."""
    current = holder.get(entry["key"]) if holder is not None else None
    if current is None:
        return True
    if current != entry["value"]:
        dotted = ".".join([*entry["path"], entry["key"]])
        raise ConflictError(
            f"{where}: {dotted!r} is already set to something else",
            hint="remove or rename that entry first; Nexus will not overwrite it",
        )
    return False


def _line_indent(text: str, pos: int) -> str:
    start = text.rfind("\n", 0, pos) + 1
    match = re.match(r"[ \t]*", text[start:])
    return match.group() if match else ""


def _starts_line(text: str, pos: int) -> bool:
    return not text[text.rfind("\n", 0, pos) + 1 : pos].strip()


def _style(text: str) -> tuple[str, tuple[str, str]]:
    """The file's indentation unit and, for one-line text, its separators."""
    match = re.search(r"\n([ \t]+)[^ \t\r\n]", text)
    unit = match.group(1) if match else "  "
    compact = '":' in text and '": ' not in text and ", " not in text
    return unit, ((",", ":") if compact else (", ", ": "))


def _insertion(text: str, node: _Node, member: str, value: Any, unit: str, seps: Any) -> Insert:
    """Where and what to insert to add ``member`` (``"key": `` or empty) + ``value`` to ``node``."""
    # a container written over several lines (or an empty one in a multi-line file) gets the
    # entry on a line of its own; a one-line container keeps it on its line
    multi = "\n" in text[node.start : node.end] or (not node.members and "\n" in text.strip())
    if not multi:
        rendered = member.replace(": ", seps[1]) + json.dumps(
            value, ensure_ascii=False, separators=seps
        )
        if node.members:
            return node.members[-1].node.end, seps[0] + rendered
        return node.start + 1, rendered
    if node.members and _starts_line(text, node.members[-1].start):
        indent = _line_indent(text, node.members[-1].start)
    else:
        indent = _line_indent(text, node.start) + unit
    body = json.dumps(value, ensure_ascii=False, indent=unit).replace("\n", "\n" + indent)
    rendered = "\n" + indent + member + body
    if node.members:
        return node.members[-1].node.end, "," + rendered
    inner = text[node.start + 1 : node.close]
    tail = "" if "\n" in inner else "\n" + _line_indent(text, node.start)
    return node.start + 1, rendered + tail


def add(
    text: str, entries: list[dict[str, Any]], where: str, *, jsonc: bool
) -> tuple[str, list[Insert], list[str]]:
    """Insert ``entries`` into ``text``: (new text, the insertions in order, dotted keys created).

    The entries must be :func:`missing` ones. Taking the insertions out again in reverse order
    (:func:`undo`) gives back ``text`` exactly.
    """
    inserts: list[Insert] = []
    created: list[str] = []
    for entry in entries:
        root = _root(text, where, jsonc)
        is_key = "key" in entry
        path: list[str] = entry["path"]
        if root is None:
            nested: Any = {entry["key"]: entry["value"]} if is_key else [entry["item"]]
            for key in reversed(path):
                nested = {key: nested}
            created.extend(".".join(path[: d + 1]) for d in range(len(path)))
            new = json.dumps(nested, ensure_ascii=False, indent=2) + "\n"
            match = re.match(r"\s*", text)
            offset = match.end() if match else 0  # blanks (and comments) stay around it
            inserts.append((offset, new))
            text = text[:offset] + new + text[offset:]
            continue
        holder, depth = _walk(root, path, dict if is_key else list, where)
        if depth == len(path):
            member = json.dumps(entry["key"], ensure_ascii=False) + ": " if is_key else ""
            value = entry["value"] if is_key else entry["item"]
        else:
            value = {entry["key"]: entry["value"]} if is_key else [entry["item"]]
            for key in reversed(path[depth + 1 :]):
                value = {key: value}
            member = json.dumps(path[depth], ensure_ascii=False) + ": "
            created.extend(".".join(path[: d + 1]) for d in range(depth, len(path)))
        unit, seps = _style(text)
        offset, snippet = _insertion(text, holder, member, value, unit, seps)
        inserts.append((offset, snippet))
        text = text[:offset] + snippet + text[offset:]
    return text, inserts, created


def undo(text: str, inserts: list[Insert]) -> str | None:
    """``text`` without ``inserts`` (taken out last first); None when they are not all there."""
    for offset, snippet in reversed(inserts):
        if text[offset : offset + len(snippet)] != snippet:
            return None
        text = text[:offset] + text[offset + len(snippet) :]
    return text


def _cut(text: str, node: _Node, index: int) -> str:
    """``text`` without member ``index`` of ``node`` (and the comma that went with it)."""
    member = node.members[index]
    if member.comma is not None:  # cut it with its own comma, up to the next line or member
        start = member.start
        end = member.comma + 1
        while end < len(text) and text[end] in " \t":
            end += 1
        if _starts_line(text, start) and text.startswith("\n", end):
            start = text.rfind("\n", 0, start) + 1
            end += 1
        return text[:start] + text[end:]
    # the last member without a trailing comma: cut it and the comma before it
    start = member.start
    if not _starts_line(text, start):  # on the line of what comes before: cut from there
        start = node.members[index - 1].node.end if index else node.start + 1
        return text[:start] + text[member.node.end :]
    start = text.rfind("\n", 0, start)
    text = text[:start] + text[member.node.end :]
    if index:
        comma = node.members[index - 1].comma
        assert comma is not None
        text = text[:comma] + text[comma + 1 :]
    return text


def remove(
    text: str, entries: list[dict[str, Any]], created: list[str], where: str, *, jsonc: bool
) -> str:
    """``text`` without ``entries``, then without the containers Nexus created that are empty."""
    for entry in entries:
        root = _root(text, where, jsonc)
        if root is None:
            return text
        is_key = "key" in entry
        holder, depth = _walk(root, entry["path"], dict if is_key else list, where)
        if depth < len(entry["path"]):
            continue
        for index in range(len(holder.members) - 1, -1, -1):
            member = holder.members[index]
            if (is_key and member.key == entry["key"] and member.node.value == entry["value"]) or (
                not is_key and member.node.value == entry["item"]
            ):
                text = _cut(text, holder, index)
                break
    for dotted in sorted(created, key=lambda k: -k.count(".")):
        root = _root(text, where, jsonc)
        if root is None:
            return text
        *parents, leaf = dotted.split(".")
        try:
            holder, depth = _walk(root, parents, dict, where)
        except ConfigError:
            continue
        if depth < len(parents):
            continue
        for index in range(len(holder.members) - 1, -1, -1):
            member = holder.members[index]
            if member.key == leaf and not member.node.value and member.node.value is not None:
                if isinstance(member.node.value, dict | list):
                    text = _cut(text, holder, index)
                break
    return text
