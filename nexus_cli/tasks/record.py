"""The schema of a task record, checked on both paths: before Nexus stores a task, and when it
reads one back from ``tasks.jsonl`` (data from teammates and pull requests).

:func:`check_record` runs on every line of the file before it becomes a :class:`Task`, and
:func:`check_new` on every task the CLI, MCP, the loop or a workflow is about to store
(:meth:`nexus_cli.tasks.store.TaskStore.put`), so a task that Nexus writes always reads back.
Ids and workspace names go through :mod:`nexus_cli.validate`; every other field is checked for
its type and the limits below (the table in docs/security.md). Reading, a bad field raises
:class:`ConfigError` naming the file, the line and the field; writing, :class:`UsageError`
(exit 2) naming the field. Titles, notes and gate output may hold any text (control characters
included): they are kept as they are and escaped when shown on a terminal; text that is not
valid Unicode (undecodable bytes from the command line) is refused.
"""

from __future__ import annotations

import re
from typing import Any

from nexus_cli import jsonio, validate
from nexus_cli.errors import ConfigError, NexusError, UsageError
from nexus_cli.tasks import wait_spec
from nexus_cli.tasks.lease import problem as lease_problem

MAX_TITLE = 1_000
MAX_TEXT = 100_000  # description, a note's text
MAX_ASSIGNEE = 1_000
MAX_COMMAND = 10_000
MAX_GATE_TIMEOUT_S = 7 * 24 * 3600
MAX_GATES = 100
MAX_LABELS = 100
MAX_LABEL = 100
MAX_DEPENDS = 1_000
MAX_ITEMS = 10_000  # notes, history entries
MAX_DEPTH = 16  # the whole record, as JSON: a history entry's gate runs sit 5 deep
MAX_RECORD_BYTES = 8 * 1024 * 1024  # one line of tasks.jsonl
MAX_COUNT = 1_000_000_000  # a count in ``compacted`` (what compaction dropped, summed)
# The keys of a compacted task's ``compacted`` object, all required (nexus_cli.tasks.compaction).
COMPACTED_KEYS = (
    "at",
    "closed_at",
    "dropped_description_chars",
    "dropped_notes",
    "dropped_history",
)

_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
_TEXT_FIELDS = {"title": MAX_TITLE, "description": MAX_TEXT, "created_at": 64, "updated_at": 64}
_LIST_LIMITS = {
    "labels": MAX_LABELS,
    "depends_on": MAX_DEPENDS,
    "gates": MAX_GATES,
    "notes": MAX_ITEMS,
    "history": MAX_ITEMS,
}
_READ_HINT = "fix or remove that line (see `git diff`); the other tasks were imported"
_WRITE_HINT = "the limits of a task are listed in docs/security.md"


def is_moment(value: object) -> bool:
    """Whether ``value`` is a stored UTC moment (:func:`nexus_cli.tasks.model.now_iso`)."""
    return isinstance(value, str) and _MOMENT.fullmatch(value) is not None


class _Invalid(Exception):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"field {field!r} {problem}")
        self.field = field
        self.problem = problem


def _undecodable(value: str) -> bool:
    if value.isascii():
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _text(data: dict[str, Any], key: str, limit: int, *, optional: bool) -> None:
    value = data.get(key)
    if value is None and optional:
        return
    if not isinstance(value, str):
        raise _Invalid(key, f"must be text, not {type(value).__name__}")
    if len(value) > limit:
        raise _Invalid(key, f"is longer than {limit:,} characters ({len(value):,})")
    if _undecodable(value):
        raise _Invalid(key, "holds undecodable bytes")


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Invalid(key, f"must be a list, not {type(value).__name__}")
    limit = _LIST_LIMITS[key]
    if len(value) > limit:
        raise _Invalid(key, f"has more than {limit:,} entries ({len(value):,})")
    return value


def _gate(gate: Any, source: str | None) -> None:
    if not isinstance(gate, dict):
        raise _Invalid("gates", "must hold objects")
    command = gate.get("command")
    if not isinstance(command, str) or not command.strip():
        raise _Invalid("gates", f"holds a blank or non-text command {command!r:.60}")
    if len(command) > MAX_COMMAND:
        raise _Invalid("gates", f"holds a command longer than {MAX_COMMAND:,} characters")
    if _undecodable(command):
        raise _Invalid("gates", "holds a command with undecodable bytes")
    timeout = gate.get("timeout_s")
    if timeout is not None and (
        isinstance(timeout, bool)
        or not isinstance(timeout, int)
        or not 0 < timeout <= MAX_GATE_TIMEOUT_S
    ):
        raise _Invalid(
            "gates", f"holds timeout_s {timeout!r:.30}: give 1-{MAX_GATE_TIMEOUT_S:,} s (7 days)"
        )
    if gate.get("service") is not None:
        validate.service_name(gate["service"], source=source)
    if gate.get("wait") is not None:  # a waiting gate (nexus_cli.tasks.wait_spec)
        why = wait_spec.problem(gate["wait"], command)
        if why is not None:
            raise _Invalid("gates", f"holds a bad waiting gate: {why}")
        if gate.get("service") is not None:
            raise _Invalid("gates", "holds a waiting gate with a service (it runs nothing)")


def _check(data: dict[str, Any], source: str | None) -> None:
    validate.task_id(data.get("id"), source=source)
    for key, limit in _TEXT_FIELDS.items():
        _text(data, key, limit, optional=key != "title")
    _text(data, "assignee", MAX_ASSIGNEE, optional=True)
    priority = data.get("priority", 2)
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise _Invalid("priority", f"must be a whole number 0-4, not {priority!r:.30}")
    if data.get("workspace") is not None:
        validate.workspace_name(data["workspace"], source=source)
    for dep in _list(data, "depends_on"):
        validate.task_id(dep, source=source)
    for label in _list(data, "labels"):
        if not isinstance(label, str) or len(label) > MAX_LABEL:
            raise _Invalid("labels", f"must hold text of at most {MAX_LABEL} characters")
        if _undecodable(label):
            raise _Invalid("labels", "holds undecodable bytes")
    for gate in _list(data, "gates"):
        _gate(gate, source)
    for key in ("notes", "history"):
        if not all(isinstance(entry, dict) for entry in _list(data, key)):
            raise _Invalid(key, "must hold objects")
    for note in data.get("notes") or ():
        _text(note, "text", MAX_TEXT, optional=True)
    if "no_gates" in data and not isinstance(data["no_gates"], bool):
        raise _Invalid("no_gates", "must be true or false")
    if data.get("parent") is not None:
        validate.task_id(data["parent"], source=source)
        if data["parent"] == data.get("id"):
            raise _Invalid("parent", "names the task itself")
    deferred = data.get("deferred_until")
    if deferred is not None and (not isinstance(deferred, str) or not _MOMENT.fullmatch(deferred)):
        raise _Invalid("deferred_until", "must be a UTC moment like 2026-12-24T09:00:00.000000Z")
    if data.get("lease") is not None:
        why = lease_problem(data["lease"])
        if why:
            raise _Invalid("lease", why)
    if data.get("compacted") is not None:
        _compacted(data["compacted"])


def _compacted(value: Any) -> None:
    """What `nexus task compact` leaves (nexus_cli.tasks.compaction): exactly these keys."""
    if not isinstance(value, dict):
        raise _Invalid("compacted", "must be an object")
    unknown = sorted(set(value) - set(COMPACTED_KEYS))
    if unknown:
        raise _Invalid("compacted", f"holds unknown key {unknown[0]!r:.40}")
    for key in ("at", "closed_at"):
        if not is_moment(value.get(key)):
            raise _Invalid("compacted", f"needs {key!r} as a UTC moment")
    for key in COMPACTED_KEYS[2:]:
        count = value.get(key)
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_COUNT:
            raise _Invalid("compacted", f"needs {key!r} as a whole number 0-{MAX_COUNT:,}")


def check_record(data: dict[str, Any], where: str, *, read_with_cap: bool = False) -> None:
    """Raise :class:`ConfigError` (naming ``where``, ``file:line``) unless ``data`` is a
    well-formed task (``read_with_cap``: ``data`` was read with ``max_depth=MAX_DEPTH``)."""
    try:
        _check(data, where)
        # A line read from the file is nested at most MAX_DEPTH deep already (the JSON reader's
        # cap, nexus_cli.tasks.model.parse_line); a dictionary made in memory is walked.
        if not read_with_cap and jsonio.depth(data) > MAX_DEPTH:
            raise _Invalid("notes and history", f"nest deeper than {MAX_DEPTH} levels")
    except _Invalid as exc:
        raise ConfigError(f"{where}: {exc}", hint=_READ_HINT) from None


def check_new(data: dict[str, Any]) -> None:
    """Raise :class:`UsageError` unless ``data`` (a task about to be stored) is one that
    :func:`check_record` will accept when it is read back."""
    try:
        _check(data, None)
        if jsonio.depth(data) > MAX_DEPTH:
            raise _Invalid("notes and history", f"nest deeper than {MAX_DEPTH} levels")
    except _Invalid as exc:
        name = exc.field.replace("_", " ")
        raise UsageError(f"task {name}: {exc.problem}", hint=_WRITE_HINT) from None
    except NexusError as exc:  # from a validator: already a clear UsageError
        raise UsageError(exc.message, hint=exc.hint) from None
