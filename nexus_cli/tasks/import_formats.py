"""Reading the files `nexus task import` takes: a beads JSONL export or a `gh issue list --json`
file, each record mapped to Nexus's fields (:class:`Record`) or reported (:class:`Problem`).

The file is untrusted: it is read with a size limit, parsed with the strict JSON reader, and each
record goes through the limits of ``nexus task create``. :mod:`nexus_cli.tasks.importing` turns
the records into tasks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nexus_cli import jsonio
from nexus_cli.errors import NexusError, UsageError
from nexus_cli.tasks.model import Gate, Task, now_iso
from nexus_cli.tasks.record import MAX_DEPTH, MAX_RECORD_BYTES, check_new

SOURCES = ("beads", "github")
MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_RECORDS = 100_000

# beads status -> Nexus status (`blocked` is derived in Nexus; `tombstone` is a deleted issue).
BEADS_STATUS = {
    "open": "open",
    "in_progress": "in_progress",
    "blocked": "open",
    "deferred": "open",
    "pinned": "open",
    "hooked": "open",
    "closed": "cancelled",
}
# beads dependency types that make a Nexus dependency; the others (related, discovered-from...)
# are associations, not order.
BLOCKING = ("blocks", "conditional-blocks", "waits-for")
PARENT_CHILD = "parent-child"
# GitHub label -> priority (first match wins); anything else keeps the default, 2.
GITHUB_PRIORITY = {
    "p0": 0,
    "p1": 1,
    "p2": 2,
    "p3": 3,
    "p4": 4,
    "priority: critical": 0,
    "priority: high": 1,
    "priority: medium": 2,
    "priority: low": 3,
    "critical": 0,
}
GITHUB_STATUS = {"open": "open", "closed": "cancelled"}
CLOSED_REASON = "closed in {source} before the import: no gate verified it"


class _Bad(Exception):
    """A record that cannot be imported; the message says which field and why."""


@dataclass
class Record:
    """One issue of the file, mapped to Nexus's fields (not yet a task: it has no id)."""

    key: str  # the label that names the original: beads:bd-12, gh:#34
    original: str
    where: str  # line 3 / record 3
    title: str
    description: str = ""
    priority: int = 2
    status: str = "open"
    assignee: str | None = None
    labels: list[str] = field(default_factory=list)
    created_at: str = ""
    # (dependent original id, dependency original id): `dependent` waits for `dependency`
    edges: list[tuple[str, str]] = field(default_factory=list)

    def to_json(self, task_id: str | None) -> dict[str, Any]:
        return {
            "id": task_id,
            "original": self.original,
            "where": self.where,
            "title": self.title,
            "status": self.status,
            "priority": self.priority,
        }


@dataclass
class Problem:
    where: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"where": self.where, "message": self.message}


# ---------------------------------------------------------------- reading the file


def read_file(path: Path) -> str:
    """The file's text (UTF-8), or a :class:`UsageError` naming why it cannot be read."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise UsageError(f"{path} is larger than {MAX_FILE_BYTES // 2**20} MiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path} is not UTF-8 text (byte {exc.start})") from None


def parse(text: str, source: str) -> tuple[list[Record], list[Problem]]:
    """The records of ``text`` (a beads JSONL export or a ``gh issue list --json`` array) and
    the problems of those that cannot be imported."""
    if source == "beads":
        items = _beads_items(text)
        convert = _beads_record
    elif source == "github":
        items = _github_items(text)
        convert = _github_record
    else:
        raise UsageError(f"unknown import source {source!r}", hint="use beads or github")
    records: list[Record] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for where, item in items:
        try:
            if isinstance(item, _Bad):
                raise item
            if not isinstance(item, dict):
                raise _Bad("not a JSON object")
            record = convert(item, where)
            if record.key in seen:
                raise _Bad(f"{record.original} appears again (first at {seen[record.key]})")
            _validate(record)
        except _Bad as exc:
            problems.append(Problem(where, f"skipped: {exc}"))
            continue
        seen[record.key] = where
        records.append(record)
    return records, problems


def _beads_items(text: str) -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if len(items) >= MAX_RECORDS:
            raise UsageError(f"the file has more than {MAX_RECORDS:,} records")
        try:
            value = jsonio.loads(line, max_depth=MAX_DEPTH, max_bytes=MAX_RECORD_BYTES)
        except jsonio.JSONError as exc:
            value = _Bad(str(exc))
        items.append((f"line {number}", value))
    return items


def _github_items(text: str) -> list[tuple[str, Any]]:
    try:
        value = jsonio.loads(text, max_depth=MAX_DEPTH + 2, max_bytes=MAX_FILE_BYTES)
    except jsonio.JSONError as exc:
        raise UsageError(
            f"not a `gh issue list --json` file: {exc}",
            hint="export with `gh issue list --json number,title,body,state,labels,assignees,"
            "createdAt > issues.json`",
        ) from None
    if not isinstance(value, list):
        raise UsageError("not a `gh issue list --json` file: expected a JSON array of issues")
    if len(value) > MAX_RECORDS:
        raise UsageError(f"the file has more than {MAX_RECORDS:,} records")
    return [(f"record {n}", item) for n, item in enumerate(value, 1)]


def _text(item: dict[str, Any], key: str, *, required: bool = False) -> str:
    value = item.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise _Bad(f"field {key!r} must be {'non-empty ' if required else ''}text")
    return value


def _moment(value: Any) -> str:
    """An ISO 8601 time in Nexus's form (UTC, microseconds); now when it is missing or bad."""
    if isinstance(value, str) and len(value) <= 64:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return now_iso()
        if moment.tzinfo is not None:
            return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return now_iso()


def _beads_record(item: dict[str, Any], where: str) -> Record:
    original = _text(item, "id", required=True)
    status = _text(item, "status") or "open"
    if status == "tombstone":
        raise _Bad(f"{original} is deleted in beads (tombstone)")
    if status not in BEADS_STATUS:
        raise _Bad(f"field 'status' is {status!r:.40}, not a beads status")
    priority = item.get("priority", 2)
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 4:
        raise _Bad(f"field 'priority' must be a whole number 0-4, not {priority!r:.30}")
    labels = _labels(item.get("labels"), lambda x: x)
    kind = _text(item, "issue_type") or "task"
    if kind != "task":
        labels.append(f"type:{kind}")
    if status in ("deferred", "blocked", "pinned", "hooked"):
        labels.append(f"beads-status:{status}")
    description = _text(item, "description")
    criteria = _text(item, "acceptance_criteria")
    if criteria.strip():
        description = f"{description}\n\nAcceptance criteria:\n{criteria}".lstrip()
    record = Record(
        key=f"beads:{original}",
        original=original,
        where=where,
        title=_text(item, "title", required=True),
        description=description,
        priority=priority,
        status=BEADS_STATUS[status],
        assignee=_text(item, "assignee") or None,
        labels=labels,
        created_at=_moment(item.get("created_at")),
    )
    deps = item.get("dependencies") or []
    if not isinstance(deps, list):
        raise _Bad("field 'dependencies' must be a list")
    for dep in deps:
        if not isinstance(dep, dict):
            raise _Bad("field 'dependencies' must hold objects")
        kind = dep.get("type", "blocks")
        issue = dep.get("issue_id", original)
        target = dep.get("depends_on_id")
        if not isinstance(issue, str) or not isinstance(target, str) or not target:
            raise _Bad("a dependency needs text issue_id and depends_on_id")
        if kind in BLOCKING:
            record.edges.append((issue, target))
        elif kind == PARENT_CHILD:  # issue is the child: the parent waits for it
            record.edges.append((target, issue))
    return record


def _labels(value: Any, name: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Bad("field 'labels' must be a list")
    labels = []
    for entry in value:
        text = name(entry)
        if not isinstance(text, str) or not text:
            raise _Bad("field 'labels' must hold names")
        labels.append(text)
    return labels


def _github_label(entry: Any) -> Any:
    return entry.get("name") if isinstance(entry, dict) else None


def _github_record(item: dict[str, Any], where: str) -> Record:
    number = item.get("number")
    if isinstance(number, bool) or not isinstance(number, int) or number <= 0:
        raise _Bad(f"field 'number' must be a positive whole number, not {number!r:.30}")
    state = _text(item, "state").lower() or "open"
    if state not in GITHUB_STATUS:
        raise _Bad(f"field 'state' is {state!r:.30}, not OPEN or CLOSED")
    labels = _labels(item.get("labels"), _github_label)
    priority = next((GITHUB_PRIORITY[x.lower()] for x in labels if x.lower() in GITHUB_PRIORITY), 2)
    assignees = item.get("assignees") or []
    if not isinstance(assignees, list) or not all(isinstance(a, dict) for a in assignees):
        raise _Bad("field 'assignees' must be a list of objects")
    logins = [a.get("login") for a in assignees]
    if not all(isinstance(x, str) and x for x in logins):
        raise _Bad("every assignee needs a login")
    return Record(
        key=f"gh:#{number}",
        original=f"#{number}",
        where=where,
        title=_text(item, "title", required=True),
        description=_text(item, "body"),
        priority=priority,
        status=GITHUB_STATUS[state],
        assignee=logins[0] if logins else None,
        labels=labels,
        created_at=_moment(item.get("createdAt")),
    )


def _validate(record: Record) -> None:
    """The limits of `nexus task create` (a placeholder id: the real one is made on import)."""
    record.labels = sorted({*record.labels, record.key})
    try:
        check_new(to_task(record, "nx-0000", []).to_dict())
    except NexusError as exc:
        raise _Bad(exc.message) from None


def to_task(record: Record, task_id: str, gates: Sequence[Gate]) -> Task:
    return Task(
        id=task_id,
        title=record.title.strip(),
        description=record.description,
        priority=record.priority,
        status=record.status,
        assignee=record.assignee,
        labels=list(record.labels),
        gates=list(gates),
        created_at=record.created_at,
    )
