"""The one JSON module: what Nexus writes with :func:`dumps` it can read back with :func:`loads`.

Python's ``json`` writes ``NaN`` and ``Infinity`` (not JSON: other tools refuse them), reads them
back, keeps the last of two duplicate keys, reads ``1e999`` as infinity, numbers of any length, and
documents nested until the interpreter runs out of stack. Every record Nexus keeps (tasks, gates,
workspace records, journal entries, roll-up rows, locks, settings) goes through this module
instead, so that the rules hold in both directions:

- :func:`dumps` refuses NaN and Infinity (``allow_nan=False``) and text that holds undecodable
  bytes (lone surrogates, which cannot be written as UTF-8);
- :func:`loads` refuses NaN, Infinity and numbers that overflow to infinity, whole numbers outside
  the signed 64-bit range (SQLite's), duplicate keys, nesting deeper than ``max_depth``, documents
  longer than ``max_bytes``, text that is not UTF-8 and lone surrogates (``"\\ud800"``);
- :func:`dumps_output` is for what Nexus prints (``--json``, MCP results): a value that is not a
  finite number becomes ``null`` there, so output never holds a bare ``NaN``.

Every refusal is a :class:`JSONError` whose message is one line; callers add the file or field.
Keep this module import-light: journal entries are checked with it on every command.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

MAX_DEPTH = 64  # containers inside containers; a record of Nexus nests at most ~6 deep
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
INT_MIN, INT_MAX = -(2**63), 2**63 - 1


def _has_surrogate(text: str) -> bool:
    """Whether ``text`` holds a lone surrogate: the one thing UTF-8 cannot encode."""
    if text.isascii():  # no scan
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class JSONError(ValueError):
    """A document (or value) that Nexus will not read (or write); the message is one line."""


def _refuse_constant(name: str) -> Any:
    raise JSONError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONError(f"number {text[:40]} is too large")
    return value


def _bounded_int(text: str) -> int:
    if len(text) > 20:
        raise JSONError(f"whole number {text[:40]}... is outside the 64-bit range")
    value = int(text)
    if not INT_MIN <= value <= INT_MAX:
        raise JSONError(f"whole number {text} is outside the 64-bit range")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JSONError(f"duplicate key {key[:60]!r}")
            seen.add(key)
    return data


# Made once: json.loads() with hooks builds a new decoder (and scanner) on every call.
_DECODER = json.JSONDecoder(
    parse_constant=_refuse_constant,
    parse_float=_finite_float,
    parse_int=_bounded_int,
    object_pairs_hook=_unique_keys,
)


def depth(value: Any) -> int:
    """How deeply ``value`` nests: 0 for a scalar, 1 for ``[]`` or ``{"a": 1}``, and so on."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        level += 1
        deepest = max(deepest, level)
        stack.extend((child, level) for child in children if isinstance(child, dict | list))
    return deepest


def loads(
    data: str | bytes, *, max_depth: int = MAX_DEPTH, max_bytes: int = MAX_DOCUMENT_BYTES
) -> Any:
    """The value of the JSON document ``data``; :class:`JSONError` for anything this module
    refuses (see the module's docstring). ``-0.0`` and control characters (escaped) read back
    exactly as written."""
    if len(data) > max_bytes:
        raise JSONError(f"document is larger than {max_bytes:,} bytes")
    if isinstance(data, bytes | bytearray):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise JSONError("document is not UTF-8 text") from None
    else:
        text = data
    try:
        value = _DECODER.decode(text)
    except RecursionError:
        raise JSONError(f"document nests deeper than {max_depth} levels") from None
    except JSONError:
        raise
    except ValueError as exc:  # json.JSONDecodeError, int() of a huge number
        raise JSONError(f"not valid JSON: {str(exc).splitlines()[0]}") from None
    # Counting brackets is cheap; only a document with more of them than the cap is walked.
    if text.count("[") + text.count("{") > max_depth and depth(value) > max_depth:
        raise JSONError(f"document nests deeper than {max_depth} levels")
    # In text given as ``str`` a lone surrogate may stand as itself (undecodable bytes read with
    # "surrogateescape"); otherwise only an escape can make one: a valid pair (an emoji as
    # \\ud83d\\ude00) reads as one character, a lone one stays a surrogate, which no UTF-8 file can
    # hold.
    if _has_surrogate(text) or (
        ("\\ud" in text or "\\uD" in text) and _has_surrogate(json.dumps(value, ensure_ascii=False))
    ):
        raise JSONError("text holds a lone surrogate (undecodable bytes)")
    return value


def replace_lone_surrogates(text: str) -> str:
    """The JSON document ``text`` with every lone surrogate its escapes make (``"\\ud800"``)
    replaced by U+FFFD, as undecodable bytes are replaced when read with ``"replace"``: for a
    reader that must answer what it was sent (the MCP wire) rather than refuse the whole
    message. Text with no such escape, and text that is not JSON, comes back unchanged."""
    if "\\ud" not in text and "\\uD" not in text:
        return text
    try:
        value = json.loads(text)
        written = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except (ValueError, RecursionError):
        return text
    if not _has_surrogate(written):
        return text
    return written.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def dumps(
    value: Any,
    *,
    indent: int | str | None = None,
    sort_keys: bool = False,
    compact: bool = False,
    separators: tuple[str, str] | None = None,
    ascii_only: bool = False,
    default: Callable[[Any], Any] | None = None,
) -> str:
    """``value`` as JSON text, for a record Nexus will read back; :class:`JSONError` when it holds
    NaN or Infinity, or text that is not valid Unicode (a lone surrogate)."""
    try:
        text = json.dumps(
            value,
            indent=indent,
            sort_keys=sort_keys,
            separators=(",", ":") if compact else separators,
            ensure_ascii=ascii_only,
            allow_nan=False,
            default=default,
        )
    except ValueError as exc:  # NaN or Infinity; a circular reference
        problem = str(exc).splitlines()[0]
        if "float" in problem:
            problem = "NaN or Infinity: they are not JSON numbers"
        raise JSONError(f"cannot write {problem}") from None
    if not ascii_only and _has_surrogate(text):
        raise JSONError("cannot write text that holds undecodable bytes (a lone surrogate)")
    return text


def dumps_output(
    value: Any, *, indent: int | None = 2, default: Callable[[Any], Any] | None = None
) -> str:
    """``value`` as JSON for people and programs to read (``--json``, MCP results): a number that
    is not finite becomes ``null``, never a bare ``NaN``; undecodable bytes are escaped."""
    try:
        text = json.dumps(
            value, indent=indent, ensure_ascii=False, allow_nan=False, default=default
        )
    except ValueError:
        loose = json.dumps(value, ensure_ascii=True, allow_nan=True, default=default)
        cleaned = json.loads(loose, parse_constant=lambda _name: None)
        text = json.dumps(cleaned, indent=indent, ensure_ascii=False, allow_nan=False)
    if _has_surrogate(text):
        return json.dumps(json.loads(text), indent=indent, ensure_ascii=True)
    return text
