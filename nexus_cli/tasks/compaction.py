"""``nexus task compact``: tasks closed long ago become one short line each in tasks.jsonl.

A task that is ``done`` or ``cancelled``, and was closed longer ago than ``tasks.
compact_after_days`` (or ``--older-than DAYS``), keeps what others still point at and what proves
it was done:

- id, title, status, priority, assignee, workspace, labels, dependencies, parent, gates, and its
  creation and last-update times (compaction is not an edit: ``updated_at`` stays);
- its description becomes a one-line summary
  (:func:`nexus_cli.tasks.model.summary_of`): the first line of the
  description, else of the last note;
- of its history, the entries that hold its receipts and its close (:func:`kept_history`): the
  verification that closed it (from the transition to ``verifying`` to the close, every gate run
  between, so ``nexus task check-receipts`` and ``task receipt`` read the same receipts), the gate
  runs of its last passing verification, and the last transition into its present status;
- ``compacted``: when, when it had closed, and how much was dropped.

Its notes, the rest of its history and the rest of its description are dropped (they stay in
git's history of the file). Compacting a task twice drops only what was added since.

Nothing compacts by itself: compaction rewrites many lines at once, so it runs when someone asks
(a diff of its own, easy to review and to revert). It is one transaction of the task store
(:meth:`nexus_cli.tasks.store.TaskStore.write`): interrupted, the database rolls back and
tasks.jsonl, replaced atomically, is the old file or the new one, never a mix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from nexus_cli.errors import UsageError
from nexus_cli.project import Project
from nexus_cli.tasks import gate_runs
from nexus_cli.tasks.config import MAX_COMPACT_AFTER_DAYS, load_settings
from nexus_cli.tasks.listing import opened
from nexus_cli.tasks.model import Task, now_iso, parse_doc, summary_of
from nexus_cli.tasks.record import COMPACTED_KEYS, is_moment
from nexus_cli.tasks.statuses import FINISHED
from nexus_cli.tasks.store import TaskStore


@dataclass(frozen=True)
class Compacted:
    """One task compaction summarised (or would summarise, in a dry run)."""

    task: Task  # as compacted
    receipts: int
    saved_bytes: int

    def to_json(self) -> dict[str, Any]:
        info = self.task.compacted or {}
        return {
            "id": self.task.id,
            "title": self.task.title,
            "status": self.task.status,
            "closed_at": info.get("closed_at"),
            "summary": self.task.description,
            "receipts": self.receipts,
            "saved_bytes": self.saved_bytes,
            **{key: info.get(key, 0) for key in COMPACTED_KEYS[2:]},
        }


@dataclass
class CompactionReport:
    dry_run: bool
    older_than_days: int
    cutoff: str  # tasks closed before this moment were compacted
    bytes_before: int = 0
    tasks: list[Compacted] = field(default_factory=list)

    @property
    def bytes_after(self) -> int:
        return self.bytes_before - sum(c.saved_bytes for c in self.tasks)

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "older_than_days": self.older_than_days,
            "cutoff": self.cutoff,
            "compacted": [c.to_json() for c in self.tasks],
            "bytes_before": self.bytes_before,
            "bytes_after": self.bytes_after,
        }


def closed_at(task: Task) -> str | None:
    """When ``task`` (done or cancelled) was closed: its last transition into that status (else
    what an earlier compaction recorded); None when it is not closed or the time is unknown."""
    if task.status not in FINISHED:
        return None
    for entry in reversed(task.history):
        if _is_transition(entry) and entry.get("to") == task.status:
            at = entry.get("at")
            return at if is_moment(at) else None
    if task.compacted is not None:
        return str(task.compacted["closed_at"])
    return None


def kept_history(task: Task) -> list[dict[str, Any]]:
    """The entries of ``task``'s history compaction keeps (see the module), in their order."""
    history = task.history
    keep: set[int] = set()
    closing = _closing_window(history)
    if closing is not None:
        keep.update(range(*closing))
    passing = gate_runs.last_passing_run(task)
    if passing is not None:
        ids = {id(e) for e in passing.entries}
        keep.update(i for i, e in enumerate(history) if id(e) in ids)
    for index in range(len(history) - 1, -1, -1):
        if _is_transition(history[index]) and history[index].get("to") == task.status:
            keep.add(index)
            break
    return [history[i] for i in sorted(keep)]


def _closing_window(history: list[dict[str, Any]]) -> tuple[int, int] | None:
    """[start, end) of the entries :func:`nexus_cli.tasks.gate_runs.completing_run` reads: the
    transition to ``verifying`` before the last close, the gate runs, the close itself."""
    for end in range(len(history) - 1, -1, -1):
        entry = history[end]
        if (
            _is_transition(entry)
            and entry.get("from") == "verifying"
            and entry.get("to") in ("done", "review")
        ):
            start = end
            while start > 0 and not (
                _is_transition(history[start - 1]) and history[start - 1].get("to") == "verifying"
            ):
                start -= 1
            return max(start - 1, 0), end + 1
    return None


def _is_transition(entry: Any) -> bool:
    return isinstance(entry, dict) and entry.get("action") == "transition"


def compact_task(task: Task, at: str) -> Task | None:
    """``task`` compacted at ``at``; None when there is nothing to drop (compacted already)."""
    closed = closed_at(task)
    if closed is None:
        return None
    summary = summary_of(task)
    history = kept_history(task)
    dropped_history = len(task.history) - len(history)
    dropped_chars = max(len(task.description) - len(summary), 0)
    if not task.notes and not dropped_history and task.description == summary:
        return None  # nothing to drop: compacted already, or a short task
    before = task.compacted or {}
    result = Task.from_dict(task.to_dict())
    result.description = summary
    result.notes = []
    result.history = history
    result.compacted = {
        "at": at,
        "closed_at": closed,
        "dropped_description_chars": before.get("dropped_description_chars", 0) + dropped_chars,
        "dropped_notes": before.get("dropped_notes", 0) + len(task.notes),
        "dropped_history": before.get("dropped_history", 0) + dropped_history,
    }
    return result


def check_days(days: int, *, what: str = "--older-than") -> int:
    if isinstance(days, bool) or not 0 <= days <= MAX_COMPACT_AFTER_DAYS:
        raise UsageError(f"{what}: give 0-{MAX_COMPACT_AFTER_DAYS} days, not {days}")
    return days


def compact(
    project: Project, *, older_than_days: int | None = None, dry_run: bool = False
) -> CompactionReport:
    """Compact every done or cancelled task closed more than ``older_than_days`` days ago
    (default: ``tasks.compact_after_days``); with ``dry_run``, only report what would change."""
    days = (
        load_settings(project).compact_after_days
        if older_than_days is None
        else check_days(older_than_days)
    )
    now = datetime.now(UTC)
    cutoff = (now - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    report = CompactionReport(dry_run, days, cutoff)
    at = now_iso()
    with opened(project) as store:
        if dry_run:
            report.bytes_before = _file_size(store.jsonl_path)
            report.tasks = _candidates(store, cutoff, at)
            return report
        with store.write():
            report.bytes_before = _file_size(store.jsonl_path)
            report.tasks = _candidates(store, cutoff, at)
            for item in report.tasks:
                store.put(item.task)
    return report


def _candidates(store: TaskStore, cutoff: str, at: str) -> list[Compacted]:
    found = []
    for status in FINISHED:
        for doc in store.list_docs(0, status=status):
            task = parse_doc(doc)
            closed = closed_at(task)
            if closed is None or closed >= cutoff:
                continue
            compacted = compact_task(task, at)
            if compacted is None:
                continue
            kept = sum(1 for e in compacted.history if isinstance(e.get("receipt"), dict))
            saved = len(doc.encode()) - len(compacted.to_line().encode())
            found.append(Compacted(compacted, kept, saved))
    return sorted(found, key=lambda c: c.task.id)


def _file_size(path: Path) -> int:
    try:
        return int(path.stat().st_size)
    except FileNotFoundError:
        return 0
