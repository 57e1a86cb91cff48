"""One journal entry: the event a process appends to the telemetry journal, and its check.

An entry is one RFC 7464 JSON text sequence record: ``0x1E``, a JSON object, ``\\n``. The leading
record separator lets a reader skip a torn record (a crash mid-write, a full disk) and find the
next one intact, even when a later writer appended right after the torn bytes.

The same :func:`check` runs when the recorder writes an entry and when the store folds it back
(the journal is untrusted input), so a record the recorder would refuse is never stored.
Encoding needs no ``json`` import for the common entry (ASCII names, no ``raw_data``): this module
is on the recording path of every invocation.
"""

from __future__ import annotations

from typing import Any

VERSION = 1
SEPARATOR = b"\x1e"
MAX_ENTRY_BYTES = 64 * 1024

# Unix milliseconds from 2000-01-01 to 9999-12-31.
_MIN_MS, _MAX_MS = 946_684_800_000, 253_402_300_799_999
_HEX = frozenset("0123456789abcdef")
_INT32 = 2**31

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


def _check_text(key: str, value: object, limit: int) -> None:
    if not isinstance(value, str) or not 0 < len(value) <= limit or not value.isprintable():
        raise BadEntry(f"{key}: not printable text of 1 to {limit} characters")


def _check_value(key: str, kind: str, limit: int, value: object) -> None:
    if kind.endswith("?"):
        if value is None:
            return
        kind = kind[:-1]
    if kind == "version":
        ok = _is_int(value) and value == limit
    elif kind == "hex":
        ok = isinstance(value, str) and 16 <= len(value) <= limit and set(value) <= _HEX
    elif kind == "ms":
        ok = _is_int(value) and _MIN_MS <= value <= _MAX_MS  # type: ignore[operator]
    elif kind == "count":
        ok = _is_int(value) and 0 <= value <= limit  # type: ignore[operator]
    elif kind == "int":
        ok = _is_int(value) and -limit <= value < limit  # type: ignore[operator]
    elif kind == "flag":
        ok = value in (0, 1) and _is_int(value)
    elif kind == "json":
        ok = isinstance(value, str) and len(value) <= limit and _json_object(value)
    else:
        _check_text(key, value, limit)
        return
    if not ok:
        raise BadEntry(f"{key}: not a valid {kind}")


def _json_object(text: str) -> bool:
    import json  # raw_data was made by json.dumps, so json is loaded already

    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def check(entry: object) -> dict[str, Any]:
    """``entry`` if it is a valid journal entry; else :class:`BadEntry`."""
    if not isinstance(entry, dict):
        raise BadEntry("not a JSON object")
    if entry.keys() != FIELDS.keys():
        raise BadEntry("unexpected or missing keys")
    for key, (kind, limit) in FIELDS.items():
        _check_value(key, kind, limit, entry[key])
    if entry["success"] != (1 if entry["exit_code"] == 0 else 0):
        raise BadEntry("success does not match exit_code")
    return entry


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(int(value))
    if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value}"'
    import json

    return json.dumps(value)


def encode(entry: dict[str, Any]) -> bytes:
    """The bytes to append for ``entry`` (checked first): one complete record."""
    check(entry)
    body = ",".join(f'"{key}":{_scalar(entry[key])}' for key in FIELDS)
    data = SEPARATOR + ("{" + body + "}\n").encode()
    if len(data) > MAX_ENTRY_BYTES:
        raise BadEntry("entry too long")
    return data


def decode(record: bytes) -> dict[str, Any]:
    """The entry in one record (the bytes between two separators); :class:`BadEntry` if bad."""
    import json

    if len(record) > MAX_ENTRY_BYTES or not record.endswith(b"\n"):
        raise BadEntry("torn or oversized record")
    try:
        value = json.loads(record)
    except ValueError:  # includes UnicodeDecodeError
        raise BadEntry("not JSON") from None
    return check(value)
