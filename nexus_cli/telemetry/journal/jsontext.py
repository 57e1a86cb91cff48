"""JSON text for the recording path, without the ``json`` package (~4 ms of every command).

:func:`dumps` writes what ``json.dumps`` writes (ASCII only, with its separators and key order);
:func:`is_object` says whether a text is one JSON object that ``json.loads`` reads as a ``dict``.
The recorder encodes an event's ``raw_data`` and its texts with them, and the one check of an
entry (:func:`nexus_cli.telemetry.journal.entry.check`) validates ``raw_data`` with them. Reading
JSON back (the fold, the salt note) uses ``json`` itself: it is not on the recording path.
"""

from __future__ import annotations

import re
from typing import Any

MAX_DEPTH = 32  # nesting accepted by is_object (an event's raw_data nests three deep)

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}
# One token after optional whitespace: punctuation, a string, or a number or literal (as
# json.loads reads them: strict strings, ASCII digits, NaN and Infinity allowed).
_TOKEN = re.compile(
    r"[ \t\n\r]*(?:"
    r"(?P<punct>[{}\[\]:,])"
    r'|(?P<string>"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*")'
    r"|(?P<value>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?"
    r"|true|false|null|NaN|-?Infinity))"
)


def _string(text: str) -> str:
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    out = []
    for ch in text:
        escaped = _ESCAPES.get(ch)
        if escaped is not None:
            out.append(escaped)
        elif " " <= ch <= "~":
            out.append(ch)
        elif (n := ord(ch)) < 0x10000:
            out.append(f"\\u{n:04x}")
        else:
            n -= 0x10000
            out.append(f"\\u{0xD800 | (n >> 10):04x}\\u{0xDC00 | (n & 0x3FF):04x}")
    return '"' + "".join(out) + '"'


def _key(key: Any) -> str:
    if isinstance(key, str):
        return _string(key)
    if key is None or isinstance(key, bool | int | float):
        return _string(_scalar(key))
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def dumps(
    value: Any, *, sort_keys: bool = False, separators: tuple[str, str] = (", ", ": ")
) -> str:
    """``json.dumps(value, sort_keys=sort_keys, separators=separators)``, for dicts, lists,
    tuples, strings, numbers, booleans and None (anything else is a ``TypeError``)."""
    item_sep, key_sep = separators
    if isinstance(value, str):
        return _string(value)
    if value is None or isinstance(value, bool | int | float):
        return _scalar(value)
    if isinstance(value, dict):
        items = sorted(value.items()) if sort_keys else value.items()
        inner = item_sep.join(
            _key(k) + key_sep + dumps(v, sort_keys=sort_keys, separators=separators)
            for k, v in items
        )
        return "{" + inner + "}"
    if isinstance(value, list | tuple):
        inner = item_sep.join(dumps(v, sort_keys=sort_keys, separators=separators) for v in value)
        return "[" + inner + "]"
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def is_object(text: str) -> bool:
    """Whether ``text`` is one JSON object (nested at most :data:`MAX_DEPTH` deep) that
    ``json.loads`` reads as a ``dict``."""
    stack: list[str] = []
    state = "start"  # what may come next
    pos = 0
    while (match := _TOKEN.match(text, pos)) is not None:
        pos = match.end()
        kind, token = match.lastgroup, match.group(match.lastgroup or 0)
        if state == "start" and token == "{":
            state = "key_or_close"
        elif state in ("key_or_close", "key") and kind == "string":
            state = "colon"
            continue
        elif state == "colon" and token == ":":
            state = "value"
            continue
        elif state in ("value", "value_or_close") and kind in ("string", "value"):
            state = "after"
            continue
        elif state in ("value", "value_or_close") and token in ("{", "["):
            state = "key_or_close" if token == "{" else "value_or_close"
        elif state == "after" and token == "," and stack:
            state = "key" if stack[-1] == "{" else "value"
            continue
        elif (state in ("after", "key_or_close") and token == "}" and stack[-1:] == ["{"]) or (
            state in ("after", "value_or_close") and token == "]" and stack[-1:] == ["["]
        ):
            stack.pop()
            state = "after" if stack else "done"
            continue
        else:
            return False
        stack.append(token)  # an object or array opened
        if len(stack) > MAX_DEPTH:
            return False
    return state == "done" and not text[pos:].strip(" \t\n\r")
