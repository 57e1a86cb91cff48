"""Checking one task record read from ``tasks.jsonl`` — data from teammates and pull requests.

Every line of the file passes :func:`check_record` before it becomes a :class:`Task`: ids and
workspace names go through :mod:`nexus_cli.validate`, every other field is checked for its type
and a length limit. A bad field raises :class:`ConfigError` naming the file, the line and the
field. Titles, notes and gate output may hold any text (control characters included): they are
kept as they are and escaped when shown on a terminal.
"""

from __future__ import annotations

import re
from typing import Any

from nexus_cli import validate
from nexus_cli.errors import ConfigError

MAX_TITLE = 1_000
MAX_TEXT = 100_000
MAX_COMMAND = 10_000
MAX_ITEMS = 10_000
MAX_GATE_TIMEOUT_S = 7 * 24 * 3600

_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
_TEXT_FIELDS = {"title": MAX_TITLE, "description": MAX_TEXT, "created_at": 64, "updated_at": 64}


def _bad(where: str, field: str, problem: str) -> ConfigError:
    return ConfigError(
        f"{where}: field {field!r} {problem}",
        hint="fix or remove that line (see `git diff`); nothing was imported from the file",
    )


def _text(data: dict[str, Any], key: str, limit: int, where: str, *, optional: bool) -> None:
    value = data.get(key)
    if value is None and optional:
        return
    if not isinstance(value, str):
        raise _bad(where, key, f"must be text, not {type(value).__name__}")
    if len(value) > limit:
        raise _bad(where, key, f"is longer than {limit} characters")


def _list(data: dict[str, Any], key: str, where: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad(where, key, f"must be a list, not {type(value).__name__}")
    if len(value) > MAX_ITEMS:
        raise _bad(where, key, f"has more than {MAX_ITEMS} entries")
    return value


def _gate(gate: Any, where: str) -> None:
    if not isinstance(gate, dict):
        raise _bad(where, "gates", "must hold objects")
    command = gate.get("command")
    if not isinstance(command, str) or not command.strip() or len(command) > MAX_COMMAND:
        raise _bad(where, "gates", f"holds a blank, non-text or too long command {command!r:.60}")
    timeout = gate.get("timeout_s")
    if timeout is not None and (
        isinstance(timeout, bool)
        or not isinstance(timeout, int)
        or not 0 < timeout <= MAX_GATE_TIMEOUT_S
    ):
        raise _bad(where, "gates", f"holds timeout_s {timeout!r}: 1-{MAX_GATE_TIMEOUT_S} s")
    if gate.get("service") is not None:
        validate.service_name(gate["service"], source=where)


def check_record(data: dict[str, Any], where: str) -> None:
    """Raise :class:`ConfigError` (naming ``where``) unless ``data`` is a well-formed task."""
    validate.task_id(data.get("id"), source=where)
    for key, limit in _TEXT_FIELDS.items():
        _text(data, key, limit, where, optional=key != "title")
    _text(data, "assignee", MAX_TITLE, where, optional=True)
    priority = data.get("priority", 2)
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise _bad(where, "priority", f"must be a whole number 0-4, not {priority!r}")
    if data.get("workspace") is not None:
        validate.workspace_name(data["workspace"], source=where)
    for dep in _list(data, "depends_on", where):
        validate.task_id(dep, source=where)
    for label in _list(data, "labels", where):
        if not isinstance(label, str) or len(label) > MAX_TITLE:
            raise _bad(where, "labels", "must hold short text")
    for gate in _list(data, "gates", where):
        _gate(gate, where)
    for key in ("notes", "history"):
        if not all(isinstance(entry, dict) for entry in _list(data, key, where)):
            raise _bad(where, key, "must hold objects")
    if "no_gates" in data and not isinstance(data["no_gates"], bool):
        raise _bad(where, "no_gates", "must be true or false")
    if data.get("parent") is not None:
        validate.task_id(data["parent"], source=where)
        if data["parent"] == data.get("id"):
            raise _bad(where, "parent", "names the task itself")
    deferred = data.get("deferred_until")
    if deferred is not None and (not isinstance(deferred, str) or not _MOMENT.fullmatch(deferred)):
        raise _bad(where, "deferred_until", "must be a UTC moment like 2026-12-24T09:00:00.000000Z")
