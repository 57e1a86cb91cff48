"""The gate runs of a task's verifications, as its history records them.

Only the history is read here (no git, no engine, no approvals), so what reports on tasks —
``nexus stats --cost``, ``task check`` and compaction — can find a task's closing or last passing
verification without loading what makes receipts (:mod:`nexus_cli.tasks.receipts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nexus_cli.tasks.model import Task


@dataclass(frozen=True)
class Run:
    """One verification's gate runs as recorded in a task's history."""

    purpose: str
    at: str
    entries: list[dict[str, Any]]

    @property
    def receipts(self) -> list[dict[str, Any]]:
        return [e["receipt"] for e in self.entries if isinstance(e.get("receipt"), dict)]


def last_passing_run(task: Task) -> Run | None:
    """The newest verification whose every gate run passed and left a receipt."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for entry in task.history:
        receipt = entry.get("receipt") if entry.get("action") == "gate_run" else None
        if isinstance(receipt, dict) and isinstance(receipt.get("at"), str):
            groups.setdefault(receipt["at"], []).append(entry)
    for at in sorted(groups, reverse=True):
        entries = groups[at]
        run = entries[0]["receipt"].get("run")
        if isinstance(run, dict) and run.get("gates") == len(entries):
            return Run(str(entries[0].get("purpose") or ""), at, entries)
    return None


def completing_run(history: list[dict[str, Any]]) -> tuple[dict[str, Any], Run] | None:
    """In a task's ``history``: the transition that closed it (verifying to done or review) and
    the gate runs of that verification; None when no verification closed it."""
    for end in range(len(history) - 1, -1, -1):
        entry = history[end]
        if isinstance(entry, dict) and _is_close(entry):
            start = end
            while start > 0 and not _is_transition_to(history[start - 1], "verifying"):
                start -= 1
            runs = [
                e
                for e in history[start:end]
                if isinstance(e, dict) and e.get("action") == "gate_run"
            ]
            return entry, Run("complete", str(entry.get("at") or ""), runs)
    return None


def _is_close(entry: dict[str, Any]) -> bool:
    return (
        entry.get("action") == "transition"
        and entry.get("from") == "verifying"
        and entry.get("to") in ("done", "review")
    )


def _is_transition_to(entry: Any, status: str) -> bool:
    return (
        isinstance(entry, dict)
        and entry.get("action") == "transition"
        and entry.get("to") == status
    )
