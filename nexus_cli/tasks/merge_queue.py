"""The merge queue: finished tasks' branches, waiting to be brought into their target one at a time.

A task whose gates passed in its workspace enters the queue (:func:`add`); :mod:`nexus_cli.tasks.
merge_run` takes the entries in order, rebases or merges each onto its target in a scratch
worktree, runs the task's gates again on that combined tree, and only then advances the target.

The queue is one JSON file in the project's local state (``.nexus/state/merge-queue.json``),
read and written under its lock, so that two fleets (or a fleet and a person) on one checkout
see one queue. The file is local state, not repository content, but it is still checked on read:
an entry that is not well formed is dropped with a warning, never acted on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from nexus_cli import fs, git, jsonio, safe_path, terminal, validate
from nexus_cli.config_yaml import config_section
from nexus_cli.errors import ConfigError, ConflictError, NotFoundError, UsageError
from nexus_cli.project import Project
from nexus_cli.tasks import lifecycle, loading
from nexus_cli.tasks.identity import current_agent
from nexus_cli.tasks.listing import opened
from nexus_cli.tasks.model import now_iso
from nexus_cli.telemetry.journal import invocation

QUEUE_FILE = "merge-queue.json"
QUEUE_LOCK = "merge-queue.lock"
STRATEGIES = ("rebase", "merge")
ON_FAILURE = ("open", "rejected")
RECENT = 20  # outcomes kept for `nexus queue` and `nexus fleet status`
QUEUED_STATUSES = ("done", "review")  # gates passed in the workspace


@dataclass(frozen=True)
class QueueSettings:
    """The ``queue:`` section of ``.nexus/config.yaml``."""

    strategy: str = "rebase"  # how a branch is brought onto the target
    on_failure: str = "open"  # where a task goes back: `open` (the agents) or `rejected` (a person)


@dataclass
class Entry:
    task: str
    branch: str
    target: str
    queued_at: str
    by: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class QueueState:
    entries: list[Entry] = field(default_factory=list)
    recent: list[dict[str, Any]] = field(default_factory=list)  # newest last

    def to_json(self) -> dict[str, Any]:
        """What ``nexus queue --json`` prints."""
        return {"entries": [e.to_json() for e in self.entries], "recent": list(self.recent)}


def load_settings(project: Project) -> QueueSettings:
    path = project.config_path
    section = config_section(path, "queue", root=project.root)
    if section is None:
        return QueueSettings()
    strategy = section.get("strategy", "rebase")
    if strategy not in STRATEGIES:
        raise ConfigError(
            f"{path}: key 'queue.strategy' must be rebase or merge, not {strategy!r:.40}"
        )
    on_failure = section.get("on_failure", "open")
    if on_failure not in ON_FAILURE:
        raise ConfigError(
            f"{path}: key 'queue.on_failure' must be open or rejected, not {on_failure!r:.40}"
        )
    return QueueSettings(strategy, on_failure)


@contextlib.contextmanager
def updating(project: Project) -> Iterator[QueueState]:
    """The queue, read under its lock; written back (atomically) when the block ends cleanly."""
    with fs.locked(project.state_dir / QUEUE_LOCK, root=project.root):
        state = _read(project)
        yield state
        state.recent = state.recent[-RECENT:]
        data = jsonio.dumps(state.to_json())
        fs.atomic_write(project.state_dir / QUEUE_FILE, data + "\n", mode=0o600, root=project.root)


def read(project: Project) -> QueueState:
    """The queue as it is now (under the lock, so never a half-written file)."""
    with fs.locked(project.state_dir / QUEUE_LOCK, root=project.root):
        return _read(project)


def _read(project: Project) -> QueueState:
    path = project.state_dir / QUEUE_FILE
    try:
        data = safe_path.read_bytes(project.root, path)
    except FileNotFoundError:
        return QueueState()
    try:
        raw = jsonio.loads(data)
    except jsonio.JSONError as exc:
        terminal.warn(f"{path}: {exc}; the merge queue starts empty")
        return QueueState()
    if not isinstance(raw, dict):
        return QueueState()
    state = QueueState()
    for item in raw.get("entries") or []:
        entry = _entry(item)
        if entry is None:
            terminal.warn(f"{path}: an entry that is not well formed was dropped")
        else:
            state.entries.append(entry)
    state.recent = [r for r in raw.get("recent") or [] if isinstance(r, dict)][-RECENT:]
    return state


def _entry(item: object) -> Entry | None:
    if not isinstance(item, dict):
        return None
    values = [item.get(k) for k in ("task", "branch", "target", "queued_at", "by")]
    texts = [v for v in values if isinstance(v, str) and v and len(v) <= 200]
    if len(texts) != len(values):
        return None
    task, branch, target, queued_at, by = texts
    if not validate.is_valid(validate.task_id, task):
        return None
    if not (git.plainly_valid_branch(branch) and git.plainly_valid_branch(target)):
        return None
    return Entry(task, branch, target, queued_at, by)


def add(
    project: Project,
    ref: str,
    *,
    branch: str | None = None,
    target: str | None = None,
    agent: str | None = None,
) -> Entry:
    """Put task ``ref`` (done or in review: its gates passed) in the queue; its branch is its
    workspace's unless ``branch`` is given, its target the main worktree's branch unless given."""
    actor = current_agent(agent)
    with opened(project) as store:
        task = loading.load(store, validate.task_ref(ref))
    if task.status not in QUEUED_STATUSES:
        raise ConflictError(
            f"task {task.id} is {task.status}; only a task whose gates passed can be queued",
            hint=f"complete it first: nexus task complete {task.id}",
        )
    if branch is None:
        if not task.workspace:
            raise UsageError(f"task {task.id} has no workspace", hint="name its branch: --branch B")
        branch = validate.workspace_name(task.workspace, source=f"task {task.id}")
    git.check_branch_name(project.root, branch)
    target = target if target is not None else default_target(project)
    git.check_branch_name(project.root, target)
    if branch == target:
        raise UsageError(f"branch {branch!r} is the target itself")
    for name in (branch, target):
        if git.branch_commit(project.root, name) is None:
            raise NotFoundError(f"there is no branch {name!r}")
    entry = Entry(task.id, branch, target, now_iso(), actor)
    with updating(project) as state:
        if any(e.task == task.id for e in state.entries):
            raise ConflictError(f"task {task.id} is already in the merge queue")
        state.entries.append(entry)
        position = len(state.entries)
    with opened(project) as store, store.write():
        task = loading.load(store, task.id)
        lifecycle.record(task, actor, "merge_queued", branch=branch, target=target)
        store.put(task)
    invocation.signal("merge_queue", outcome="queued", position=position)
    return entry


def remove(project: Project, ref: str) -> Entry:
    """Take task ``ref`` out of the queue (nothing is merged)."""
    task_id = validate.task_ref(ref)
    with updating(project) as state:
        found = [e for e in state.entries if e.task == task_id or e.task.startswith(task_id)]
        if len(found) != 1:
            raise NotFoundError(f"no single queued task matches {task_id!r}")
        state.entries.remove(found[0])
    return found[0]


def default_target(project: Project) -> str:
    """The branch checked out in the main worktree."""
    done = git.run(project.root, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    branch = done.stdout.strip()
    if done.returncode != 0 or not branch:
        raise UsageError(
            "the main worktree is not on a branch (detached HEAD)",
            hint="name the target branch with --into BRANCH",
        )
    return branch
