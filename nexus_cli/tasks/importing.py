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
from pathlib import Path
from typing import Any

from nexus_cli.errors import UsageError
from nexus_cli.project import Project
from nexus_cli.tasks import ids, import_formats, lifecycle, provenance
from nexus_cli.tasks.identity import current_agent
from nexus_cli.tasks.import_formats import Problem, Record
from nexus_cli.tasks.listing import opened
from nexus_cli.tasks.model import DEFAULT_GATE_TIMEOUT_S, Gate
from nexus_cli.tasks.store import TaskStore


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
            if dependent == dependency and dependent in new:
                problems.append(
                    Problem(where.get(dependent, "?"), f"dependency {dependent} on itself left out")
                )
                continue
            if dependent not in new or dependency not in known:
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
    if source not in import_formats.SOURCES:
        raise UsageError(f"unknown import source {source!r}", hint="use beads or github")
    gate_list = [Gate(c, gate_timeout_s) for c in gates]
    for gate in gate_list:
        if not gate.command.strip():
            raise UsageError("a gate command is blank", hint="give a command to run")
    records, problems = import_formats.parse(import_formats.read_file(path), source)
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
            task = import_formats.to_task(record, id_of[record.original], gate_list)
            task.depends_on = sorted(set(waits.get(record.original, ())))
            entry: dict[str, Any] = {"to": task.status, "via": provenance.VIA_IMPORT}
            entry["imported_from"] = record.key
            if task.status == "cancelled":
                entry["reason"] = import_formats.CLOSED_REASON.format(source=source)
            lifecycle.record(task, actor, "created", **entry)
            store.put(task)
            report.created.append((record, task.id))
    return report
