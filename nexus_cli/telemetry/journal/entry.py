"""One journal entry: the event a process appends to the telemetry journal, and its check.

An entry is one RFC 7464 JSON text sequence record: ``0x1E``, a JSON object, ``\\n``. The leading
record separator lets a reader skip a torn record (a crash mid-write, a full disk) and find the
next one intact, even when a later writer appended right after the torn bytes.

The same :func:`check` runs when the recorder writes an entry and when the store folds it back
(the journal is untrusted input: :func:`nexus_cli.telemetry.journal.reader.decode`), so a record
the recorder would refuse is never stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nexus_cli import jsonio

VERSION = 1
SEPARATOR = b"\x1e"
MAX_ENTRY_BYTES = 64 * 1024

# Unix milliseconds from 2000-01-01 to 9999-12-31.
_MIN_MS, _MAX_MS = 946_684_800_000, 253_402_300_799_999
_HEX = frozenset("0123456789abcdef")
_INT32 = 2**31
MAX_DEPTH = 32  # how deep a raw_data object may nest

# Entry key -> (kind, maximum length or value). Every key is required; no other key is allowed.
# `t` (ms), `uid`, `ppid`, `sid` and `main` say when, which and whose; the rest are `events`
# columns (the session and the timestamp text are worked out when the entry is folded).
FIELDS: dict[str, tuple[str, int]] = {
    "v": ("version", VERSION),
    "uid": ("hex", 32),
    "t": ("ms", 0),
    "ppid": ("count", _INT32),
    "sid": ("text?", 128),  # NEXUS_SESSION_ID, when set
    "main": ("flag", 1),  # 1: the command's own event (it updates `sessions`)
    "event_type": ("text", 64),
    "workspace_hash": ("hex?", 64),
    "task_hash": ("hex?", 64),
    "command": ("text?", 256),
    "duration_ms": ("count", 2**53),
    "success": ("flag", 1),
    "error_category": ("text?", 64),
    "template_used": ("text?", 128),
    "services_count": ("count?", 1_000_000),
    "ports_used": ("count?", 1_000_000),
    "raw_data": ("json?", 32 * 1024),
    "exit_code": ("int", _INT32),
    "nexus_version": ("text", 64),
}


class BadEntry(ValueError):
    """A journal entry that must not be stored (the message says which field and why)."""


def _is_int(value: object) -> bool:
    return type(value) is int  # not bool


def _hex(value: Any, limit: int) -> bool:
    return isinstance(value, str) and 16 <= len(value) <= limit and set(value) <= _HEX


def _text(value: Any, limit: int) -> bool:
    return isinstance(value, str) and 0 < len(value) <= limit and value.isprintable()


def _json_object(value: Any, limit: int) -> bool:
    return isinstance(value, str) and len(value) <= limit and _is_object(value)


def _is_object(text: str) -> bool:
    """Whether ``text`` is one JSON object that :func:`nexus_cli.jsonio.loads` reads (no NaN,
    Infinity or number that overflows to it, no duplicate key, nested at most 32 deep)."""
    try:
        value = jsonio.loads(text, max_depth=MAX_DEPTH)
    except jsonio.JSONError:
        return False
    return isinstance(value, dict)


_KINDS: dict[str, Callable[[Any, int], bool]] = {
    "version": lambda v, limit: _is_int(v) and v == limit,
    "hex": _hex,
    "ms": lambda v, limit: _is_int(v) and _MIN_MS <= v <= _MAX_MS,
    "count": lambda v, limit: _is_int(v) and 0 <= v <= limit,
    "int": lambda v, limit: _is_int(v) and -limit <= v < limit,
    "flag": lambda v, limit: _is_int(v) and v in (0, 1),
    "json": _json_object,
    "text": _text,
}
# FIELDS made ready to run: (key, may be null, test, limit, kind).
_CHECKS = [
    (key, kind.endswith("?"), _KINDS[kind.rstrip("?")], limit, kind.rstrip("?"))
    for key, (kind, limit) in FIELDS.items()
]


def check(entry: object) -> dict[str, Any]:
    """``entry`` if it is a valid journal entry; else :class:`BadEntry`."""
    if not isinstance(entry, dict):
        raise BadEntry("not a JSON object")
    if entry.keys() != FIELDS.keys():
        raise BadEntry("unexpected or missing keys")
    for key, nullable, test, limit, kind in _CHECKS:
        value = entry[key]
        if not (value is None and nullable) and not test(value, limit):
            raise BadEntry(f"{key}: not a valid {kind}")
    if entry["success"] != (1 if entry["exit_code"] == 0 else 0):
        raise BadEntry("success does not match exit_code")
    return entry


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(int(value))
    return jsonio.dumps(value, ascii_only=True)


def encode(entry: dict[str, Any]) -> bytes:
    """The bytes to append for ``entry`` (checked first): one complete record."""
    check(entry)
    body = ",".join(f'"{key}":{_scalar(entry[key])}' for key in FIELDS)
    data = SEPARATOR + ("{" + body + "}\n").encode()
    if len(data) > MAX_ENTRY_BYTES:
        raise BadEntry("entry too long")
    return data
