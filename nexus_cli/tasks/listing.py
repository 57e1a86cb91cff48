"""The task listings every front end offers: ``ready`` and ``list`` (ADR 0007).

Kept apart from the other queries because ``task ready`` is a hot path: a listing is printed
from the stored JSON documents without loading the task model or the lifecycle.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from nexus_cli import jsonio, validate
from nexus_cli.caller import Caller
from nexus_cli.errors import UsageError
from nexus_cli.project import Project
from nexus_cli.tasks import waits
from nexus_cli.tasks.identity import current_agent
from nexus_cli.tasks.limits import LIST_LIMIT, MAX_LIMIT, READY_LIMIT
from nexus_cli.tasks.model import Task, parse_doc
from nexus_cli.tasks.moments import parse_since
from nexus_cli.tasks.statuses import STATUSES
from nexus_cli.tasks.store import TaskStore, open_store


@contextmanager
def opened(project: Project) -> Iterator[TaskStore]:
    """The task store for one operation, closed after it (the MCP server lives for a session)."""
    store = open_store(project)
    try:
        yield store
    finally:
        store.close()


@dataclass
class TaskListing:
    """Tasks as their canonical JSON documents, by priority then age; kept as text so that a
    listing can be printed without parsing each task."""

    docs: list[str]

    def to_json(self) -> list[Any]:
        return [jsonio.loads(doc) for doc in self.docs]

    def json_text(self) -> str:
        """The same JSON as ``to_json()``, written straight from the stored documents."""
        return "[\n" + ",\n".join(self.docs) + "\n]" if self.docs else "[]"

    def tasks(self) -> list[Task]:
        # The task model (dataclasses, datetime) is imported here: only a table needs it.

        return [Task.from_dict(doc) for doc in self.to_json()]


def check_status(status: str | None) -> str | None:
    if status is not None and status not in STATUSES:
        raise UsageError(f"unknown status {status!r}", hint=f"one of: {', '.join(STATUSES)}")
    return status


def check_limit(limit: int) -> int:
    """``limit`` if it is 0 (all) to :data:`MAX_LIMIT`; a usage error (one line) otherwise."""
    if not 0 <= limit <= MAX_LIMIT:
        raise UsageError(f"limit: must be an integer between 0 and {MAX_LIMIT}, not {limit}")
    return limit


def ready(
    project: Project,
    *,
    agent: str | None = None,
    limit: int | None = None,
    caller: Caller = Caller.PERSON,
) -> TaskListing:
    """Open tasks with no unfinished dependency, unassigned or ``agent``'s; by priority, age.

    A task whose ``after:`` or ``task:`` gate is not satisfied yet is left out: what it waits for
    is outside the work, and an agent that took it early would only hold it until then. An
    ``approval:`` gate does not keep a task out: a person approves the work once it is done.
    """
    limit = check_limit(READY_LIMIT[caller] if limit is None else limit)
    with opened(project) as store:
        return TaskListing(ready_docs(project, store, current_agent(agent), limit))


# How a stored task line shows a gate that keeps it out of `ready` (canonical compact JSON).
_HOLDING = ('"wait":"after"', '"wait":"task"')


def ready_docs(project: Project, store: TaskStore, me: str, limit: int) -> list[str]:
    """The documents of :meth:`TaskStore.ready_docs` less the tasks that an ``after:`` or
    ``task:`` gate holds; the next ready ones take their places (up to ``limit``; 0: all)."""
    checker = waits.Checker(project, store.get)
    want = limit
    while True:
        docs = store.ready_docs(me, want)
        kept = [doc for doc in docs if not _held(checker, doc)]
        if limit == 0 or len(kept) >= limit or len(docs) < want:
            return kept if limit == 0 else kept[:limit]
        want *= 2


def _held(checker: waits.Checker, doc: str) -> bool:
    if not any(mark in doc for mark in _HOLDING):  # most lines: no parsing at all
        return False
    task = Task.from_dict(jsonio.loads(doc))
    return any(s.gate.wait in ("after", "task") for s in checker.unsatisfied(task))


def list_tasks(
    project: Project,
    *,
    status: str | None = None,
    assignee: str | None = None,
    label: str | None = None,
    workspace: str | None = None,
    parent: str | None = None,
    since: str | None = None,
    limit: int | None = None,
    caller: Caller = Caller.PERSON,
) -> TaskListing:
    """The tasks matching all the filters given, by priority then age: the first ``limit``
    (0: all; by default :data:`LIST_LIMIT` of ``caller``). ``parent``: its subtasks;
    ``since``: changed since then (a date, a moment or an age like ``7d``)."""
    limit = check_limit(LIST_LIMIT[caller] if limit is None else limit)
    check_status(status)
    if workspace is not None:
        validate.workspace_name(workspace)
    moment = None if since is None else parse_since(since)
    with opened(project) as store:
        parent_id = None if parent is None else store.resolve(validate.task_ref(parent))
        docs = store.list_docs(
            limit,
            status=status,
            assignee=assignee,
            label=label,
            workspace=workspace,
            parent=parent_id,
            since=moment,
        )
    return TaskListing(docs)


def tree(listing: TaskListing) -> list[dict[str, Any]]:
    """The tasks of ``listing`` nested under their parents (``children``), in listing order; a
    task whose parent is not in the listing is a root."""
    tasks = listing.to_json()
    nodes = {t["id"]: {**t, "children": []} for t in tasks}
    roots = []
    for task in tasks:
        node, parent = nodes[task["id"]], task.get("parent")
        if parent in nodes and not _under(nodes, parent, task["id"]):
            nodes[parent]["children"].append(node)
        else:
            roots.append(node)
    return roots


def _under(nodes: dict[str, dict[str, Any]], start: str, target: str) -> bool:
    """Whether ``start`` is ``target`` or below it (a parent loop read from a hand-edited file
    must not hide tasks)."""
    seen: set[str] = set()
    node: str | None = start
    while node in nodes and node not in seen:
        if node == target:
            return True
        seen.add(node)
        node = nodes[node].get("parent")
    return False


def blocked_page(
    project: Project, store: TaskStore, limit: int
) -> tuple[bool, list[tuple[Task, list[str]]], dict[str, list[waits.WaitState]]]:
    """The first ``limit`` tasks of ``task blocked`` (by priority, age), whether there are
    more, and the waiting gates of those that have some: each index is read only as far as
    that (the session briefing's bounded list)."""
    more, page = store.blocked_page(limit)
    pairs, waiting = with_waits(project, store, [(parse_doc(d), deps) for d, deps in page], limit)
    return more or len(pairs) > limit, pairs[:limit], waiting


def with_waits(
    project: Project, store: TaskStore, pairs: list[tuple[Task, list[str]]], limit: int | None
) -> tuple[list[tuple[Task, list[str]]], dict[str, list[waits.WaitState]]]:
    """``pairs`` (tasks blocked by dependencies, each with them) and the tasks whose waiting
    gates are not satisfied now, in ``task list`` order, with those gates by task id; with
    ``limit``, at most ``limit + 1`` of the latter are looked for."""
    checker = waits.Checker(project, store.get)
    waiting: dict[str, list[waits.WaitState]] = {}
    known = {task.id for task, _ in pairs}
    for task in store.with_waiting_gates():
        states = checker.unsatisfied(task)
        if not states:
            continue
        waiting[task.id] = states
        if task.id not in known:
            pairs.append((task, store.unfinished_dependencies(task.id)))
        if limit is not None and len(waiting) > limit:
            break
    pairs.sort(key=lambda pair: (pair[0].priority, pair[0].created_at, pair[0].id))
    return pairs, waiting
