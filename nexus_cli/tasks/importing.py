"""`nexus task import`: tasks from a beads JSONL export or a `gh issue list --json` file.

The file is untrusted (someone else's tracker wrote it): every record goes through the limits of
``nexus task create`` (:func:`nexus_cli.tasks.record.check_new`); a bad record is reported with
its line (beads) or its position (GitHub) and skipped, and every other record is imported.

Each imported task keeps its original id as a label (``beads:bd-12``, ``gh:#34``): a task with
that label already in the project is not imported again, so importing the same file twice
creates nothing the second time. Imported tasks arrive with no gate approved: the gates given
with ``--gate`` are recorded ``via: import`` and wait for a person (``nexus task gate approve``),
and a task without a gate cannot be completed until one is added. The mapping of fields is the
table in docs/tasks.md ("Importing from beads and GitHub").
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nexus_cli import jsonio
from nexus_cli.errors import NexusError, UsageError
from nexus_cli.project import Project
from nexus_cli.tasks import ids, lifecycle, provenance
from nexus_cli.tasks.identity import current_agent
from nexus_cli.tasks.listing import opened
from nexus_cli.tasks.model import DEFAULT_GATE_TIMEOUT_S, Gate, Task, now_iso
from nexus_cli.tasks.record import MAX_DEPTH, MAX_RECORD_BYTES, check_new
from nexus_cli.tasks.store import TaskStore

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


@dataclass
class ImportReport:
    """What an import created (or, ``dry_run``, would create), skipped and refused."""

    source: str
    dry_run: bool
    created: list[tuple[Record, str | None]] = field(default_factory=list)
    already: list[tuple[Record, str]] = field(default_factory=list)
    dependencies: list[tuple[str, str]] = field(default_factory=list)  # original ids
    problems: list[Problem] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "dry_run": self.dry_run,
            "created": [r.to_json(i) for r, i in self.created],
            "already_imported": [r.to_json(i) for r, i in self.already],
            "dependencies": [{"task": a, "depends_on": b} for a, b in self.dependencies],
            "problems": [p.to_json() for p in self.problems],
        }


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
            problems.append(Problem(where, str(exc)))
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
        check_new(_task(record, "nx-0000", []).to_dict())
    except NexusError as exc:
        raise _Bad(exc.message) from None


def _task(record: Record, task_id: str, gates: Sequence[Gate]) -> Task:
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


# ---------------------------------------------------------------- importing


def _dependencies(
    records: list[Record], new: set[str], known: set[str], problems: list[Problem]
) -> list[tuple[str, str]]:
    """The edges to add (original ids): the dependent is imported now, the dependency is
    imported now or before. An edge that would close a cycle is reported and left out: one
    depth-first walk in file order drops each edge back to a task still on its path (linear
    in the size of the graph, so an export of 100,000 issues imports in one pass)."""
    where = {r.original: r.where for r in records}
    graph: dict[str, list[str]] = {}
    order: list[str] = []
    for record in records:
        for dependent, dependency in record.edges:
            if dependent not in new or dependency not in known or dependent == dependency:
                continue
            targets = graph.setdefault(dependent, [])
            if not targets:
                order.append(dependent)
            if dependency not in targets:
                targets.append(dependency)
    dropped: set[tuple[str, str]] = set()
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    for root in order:
        if root in state:
            continue
        state[root] = 1
        stack: list[tuple[str, int]] = [(root, 0)]
        while stack:
            node, index = stack[-1]
            targets = graph.get(node, [])
            if index == len(targets):
                state[node] = 2
                stack.pop()
                continue
            stack[-1] = (node, index + 1)
            target = targets[index]
            if state.get(target) == 1:
                dropped.add((node, target))
                problems.append(
                    Problem(
                        where.get(node, "?"),
                        f"dependency {node} -> {target} left out: it would close a cycle",
                    )
                )
            elif target not in state:
                state[target] = 1
                stack.append((target, 0))
    return [
        (dependent, dependency)
        for dependent in order
        for dependency in graph[dependent]
        if (dependent, dependency) not in dropped
    ]


def _fresh_id(store: TaskStore, title: str, length: int, taken: _Taken) -> str:
    """A new id that no task has and no task's id starts with (as `task create` picks one);
    ``length`` digits, for the project's size after the import."""
    while True:
        for _ in range(3):
            candidate = ids.candidate(title, length)
            if taken.clashes(candidate):
                continue
            if store.get(candidate) is None and not store.ids_with_prefix(candidate, 1):
                return candidate
        length += 1


class _Taken:
    """The ids made by this import (not stored yet): a new one may be none of them, start
    none of them, and start with none of them (ids are also matched by their start)."""

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.starts: set[str] = set()

    def add(self, task_id: str) -> None:
        self.ids.add(task_id)
        self.starts.update(task_id[:n] for n in range(len(ids.ID_PREFIX) + 1, len(task_id) + 1))

    def clashes(self, candidate: str) -> bool:
        if candidate in self.starts:
            return True
        return any(candidate[:n] in self.ids for n in range(len(ids.ID_PREFIX) + 1, len(candidate)))


def import_file(
    project: Project,
    path: Path,
    source: str,
    *,
    dry_run: bool = False,
    gates: Sequence[str] = (),
    gate_timeout_s: int = DEFAULT_GATE_TIMEOUT_S,
    agent: str | None = None,
) -> ImportReport:
    """Import the issues of ``path`` (see the module's docstring); nothing is written when
    ``dry_run``. All tasks are stored in one transaction: an interrupted import leaves none."""
    if source not in SOURCES:
        raise UsageError(f"unknown import source {source!r}", hint="use beads or github")
    gate_list = [Gate(c, gate_timeout_s) for c in gates]
    for gate in gate_list:
        if not gate.command.strip():
            raise UsageError("a gate command is blank", hint="give a command to run")
    records, problems = parse(read_file(path), source)
    report = ImportReport(source, dry_run, problems=problems)
    actor = current_agent(agent)
    prefix = "beads:" if source == "beads" else "gh:"
    with opened(project) as store, contextlib.nullcontext() if dry_run else store.write():
        existing: dict[str, str] = {}
        for task in store.list_tasks():
            for label in task.labels:
                if label.startswith(prefix):
                    existing.setdefault(label, task.id)
        fresh = [r for r in records if r.key not in existing]
        report.already = [(r, existing[r.key]) for r in records if r.key in existing]
        new = {r.original for r in fresh}
        known = new | {r.original for r, _ in report.already}
        known |= {key.removeprefix(prefix) for key in existing}
        report.dependencies = _dependencies(fresh, new, known, report.problems)
        if dry_run:
            report.created = [(r, None) for r in fresh]
            return report
        id_of = {key.removeprefix(prefix): task_id for key, task_id in existing.items()}
        ids_length = ids.id_length(store.count() + len(fresh))
        taken = _Taken()
        for record in fresh:
            id_of[record.original] = _fresh_id(store, record.title, ids_length, taken)
            taken.add(id_of[record.original])
        waits: dict[str, list[str]] = {}
        for dependent, dependency in report.dependencies:
            waits.setdefault(dependent, []).append(id_of[dependency])
        for record in fresh:
            task = _task(record, id_of[record.original], gate_list)
            task.depends_on = sorted(set(waits.get(record.original, ())))
            entry: dict[str, Any] = {"to": task.status, "via": provenance.VIA_IMPORT}
            entry["imported_from"] = record.key
            if task.status == "cancelled":
                entry["reason"] = CLOSED_REASON.format(source=source)
            lifecycle.record(task, actor, "created", **entry)
            store.put(task)
            report.created.append((record, task.id))
    return report
