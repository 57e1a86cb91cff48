"""The task record: fields, statuses, allowed transitions, and its canonical JSON form.

The JSON form is what ``.nexus/tasks.jsonl`` holds, one task per line. Its field order is fixed
(:data:`FIELD_ORDER`) so that rewriting the file after a change touches only that task's line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from nexus_cli import jsonio
from nexus_cli.errors import ConfigError
from nexus_cli.tasks.record import MAX_DEPTH, MAX_RECORD_BYTES, check_record
from nexus_cli.tasks.statuses import FINISHED as FINISHED
from nexus_cli.tasks.statuses import STATUSES as STATUSES

PRIORITIES = range(5)
DEFAULT_GATE_TIMEOUT_S = 600

# status -> statuses a task may move to from it. `blocked` is derived, never stored.
TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"in_progress", "cancelled"}),
    "in_progress": frozenset({"verifying", "open", "cancelled"}),
    "verifying": frozenset({"done", "review", "in_progress", "cancelled"}),
    "review": frozenset({"done", "rejected", "cancelled"}),
    "rejected": frozenset({"in_progress", "verifying", "open", "cancelled"}),
    "done": frozenset({"open", "rejected"}),
    "cancelled": frozenset({"open"}),
}

FIELD_ORDER = (
    "id",
    "title",
    "description",
    "priority",
    "status",
    "assignee",
    "workspace",
    "labels",
    "depends_on",
    "gates",
    "notes",
    "history",
    "created_at",
    "updated_at",
)

# Optional fields after FIELD_ORDER (and ``no_gates``), present in a line only when set.
OPTIONAL_FIELDS = ("parent", "deferred_until", "compacted")


def now_iso() -> str:
    """UTC time with microseconds; lexically sortable."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Gate:
    """A verification command; ``service`` runs it inside that workspace container.

    A waiting gate (``wait`` set: ``approval``, ``after`` or ``task``) runs nothing: it is
    satisfied by a person's approval, a moment or another task (:mod:`nexus_cli.tasks.waits`).
    Its ``command`` is its text, ``KIND: VALUE`` (``approval: alice``), so that a reader that
    does not know waiting gates sees a command that fails if it is ever run.
    """

    command: str
    timeout_s: int = DEFAULT_GATE_TIMEOUT_S
    service: str | None = None
    wait: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "command": self.command,
            "timeout_s": self.timeout_s,
            "service": self.service,
        }
        if self.wait is not None:  # only when set: a command gate keeps its line
            data["wait"] = self.wait
        return data

    @property
    def target(self) -> str:
        """What a waiting gate waits on: the text after ``KIND: `` (a name, a moment, a task)."""
        return self.command.partition(": ")[2]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Gate:
        return cls(
            command=str(data["command"]),
            timeout_s=int(data.get("timeout_s") or DEFAULT_GATE_TIMEOUT_S),
            service=data.get("service") or None,
            wait=str(data["wait"]) if data.get("wait") is not None else None,
        )


@dataclass
class Task:
    id: str
    title: str
    description: str = ""
    priority: int = 2
    status: str = "open"
    assignee: str | None = None
    workspace: str | None = None
    labels: list[str] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)
    gates: list[Gate] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    created_at: str = ""
    updated_at: str = ""
    no_gates: bool = False
    # Added after the first release: written only when set, so older lines stay byte-identical.
    parent: str | None = None  # the epic this task is a subtask of
    deferred_until: str | None = None  # not offered by `ready` before this UTC moment
    lease: dict[str, Any] | None = None  # nexus_cli.tasks.lease; only while claimed
    # Set by `nexus task compact` (nexus_cli.tasks.compaction): when, and what it dropped.
    compacted: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "priority": self.priority,
            "status": self.status,
            "assignee": self.assignee,
            "workspace": self.workspace,
            "labels": sorted(set(self.labels)),
            "depends_on": sorted(set(self.depends_on)),
            "gates": [g.to_dict() for g in self.gates],
            "notes": self.notes,
            "history": self.history,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
        ordered = {key: data[key] for key in FIELD_ORDER}
        if self.no_gates:  # only when set, so older lines stay byte-identical
            ordered["no_gates"] = True
        for key in OPTIONAL_FIELDS:
            if getattr(self, key) is not None:
                ordered[key] = getattr(self, key)
        if self.lease:  # likewise: a task without a lease keeps its line
            ordered["lease"] = self.lease
        return ordered

    def to_line(self) -> str:
        """The canonical JSONL line (no newline): fixed field order, compact, UTF-8."""
        return jsonio.dumps(self.to_dict(), compact=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Task:
        status = str(data.get("status", "open"))
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        priority = int(data.get("priority", 2))
        if priority not in PRIORITIES:
            raise ValueError(f"priority {priority} is not in 0-4")
        return cls(
            id=str(data["id"]),
            title=str(data["title"]),
            description=str(data.get("description") or ""),
            priority=priority,
            status=status,
            assignee=data.get("assignee") or None,
            workspace=data.get("workspace") or None,
            labels=[str(x) for x in data.get("labels") or []],
            depends_on=[str(x) for x in data.get("depends_on") or []],
            gates=[Gate.from_dict(g) for g in data.get("gates") or []],
            notes=list(data.get("notes") or []),
            history=list(data.get("history") or []),
            created_at=str(data.get("created_at") or ""),
            updated_at=str(data.get("updated_at") or ""),
            no_gates=data.get("no_gates") is True,
            parent=data.get("parent") or None,
            deferred_until=data.get("deferred_until") or None,
            lease=data["lease"] if isinstance(data.get("lease"), dict) else None,
            compacted=data["compacted"] if isinstance(data.get("compacted"), dict) else None,
        )

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def last_rejections(self) -> list[str]:
        return [h.get("reason", "") for h in self.history if h.get("to") == "rejected"]


SUMMARY_CHARS = 200


def summary_of(task: Task) -> str:
    """The first non-blank line of the description, else of the last note, cut to
    :data:`SUMMARY_CHARS` characters."""
    texts = [task.description, *(str(n.get("text") or "") for n in reversed(task.notes[-1:]))]
    for text in texts:
        for line in text.split("\n"):
            if line.strip():
                line = line.strip()
                return line if len(line) <= SUMMARY_CHARS else line[: SUMMARY_CHARS - 1] + "…"
    return ""


def parse_line(line: str, *, where: str) -> Task:
    """Parse one JSONL line; ``where`` (``file:line``) names it in the error."""
    try:
        data = jsonio.loads(line, max_depth=MAX_DEPTH, max_bytes=MAX_RECORD_BYTES)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        check_record(data, where, read_with_cap=True)
        return Task.from_dict(data)
    except (ValueError, KeyError, TypeError) as exc:
        # the reason as a person reads it (a KeyError's is only the key it missed)
        problem = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ConfigError(
            f"{where}: malformed task line ({problem})",
            hint="fix or remove that line (see `git diff`); the other tasks were imported",
        ) from None


def parse_doc(doc: str) -> Task:
    """A task as the database holds it (its canonical line, written by :meth:`Task.to_line`)."""
    return Task.from_dict(jsonio.loads(doc, max_depth=MAX_DEPTH, max_bytes=MAX_RECORD_BYTES))
