"""Undoing a failed or interrupted ``workspace create``: remove exactly what it made.

``create`` reserves the name (the record), may create a branch and a worktree, a network,
volumes, containers and port allocations. Before it makes each, it writes what it is about to
make into the record's create journal (``creating``: the owner, the branch's start commit, and
``worktree``, ``docker``, ``ports``), so that what an interrupt leaves is always named on disk:

- on failure, Ctrl-C or SIGTERM, :meth:`Rollback.run` removes what the journal names (after the
  thread that prepares Docker objects has stopped: a network made after the undo would stay);
- after a kill (no clean-up could run), the next ``workspace create`` of that name or
  ``workspace repair`` finds the journal of an owner that is gone (:mod:`nexus_cli.owner`),
  takes it over and undoes it the same way (:func:`take_over_stale`).

The branch is deleted only when it still points at the recorded start (nothing was committed on
it since). A step that fails while undoing is skipped (the others still run), so an interrupt
never leaves more behind than necessary; the journal stays until the record goes.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from nexus_cli import deadlines, engine, git, owner, ownership
from nexus_cli.errors import ConflictError
from nexus_cli.paths import nexus_home
from nexus_cli.workspaces import (
    docker_services,
    exposure,
    forwards,
    git_worktrees,
    ports,
    records,
)

if TYPE_CHECKING:
    from nexus_cli.workspaces.handle import Workspace

UNDO_DEADLINE_S = 300.0  # for the undo's own git and engine calls
WORKTREE_WAIT_S = 60.0  # how long the undo waits for the thread making the worktree to end
DOCKER_PASSES = 5  # removal passes until no object of the workspace is left
DOCKER_SETTLE_S = 0.5


class Rollback:
    def __init__(self, workspace: Workspace, client: Any, journal: dict[str, Any]) -> None:
        self.workspace = workspace
        self.project = workspace.project
        self.name = workspace.name
        self.client = client
        self.journal = journal  # the record's ``creating``: updated, then written, before a step
        self.making_worktree: threading.Thread | None = None  # git making the worktree

    def intend(self, **steps: Any) -> None:
        """Write into the record that this create is about to make ``steps`` (before it does)."""
        if all(self.journal.get(k) == v for k, v in steps.items()):
            return
        self.journal.update(steps)
        with records.editing(self.project.state_dir) as all_records:
            record = all_records.get(self.name)
            if record is not None and _same_owner(record.creating, self.journal):
                record.creating = dict(self.journal)

    def before_worktree(self, *, docker: bool = False, branch: str | None = None) -> None:
        """The worktree (unless a non-empty folder is there: never removed by the undo) and,
        with ``docker``, the Docker objects and port allocations are about to be made, and with
        ``branch`` a new branch at that commit: one write for all of them (undoing one that was
        never made removes nothing; :meth:`before_branch` with the same commit writes nothing).
        Nothing is written when the record already says so (:func:`worktree_steps` put in the
        record that reserved the name)."""
        steps = worktree_steps(self.workspace, docker=docker, branch=branch)
        if steps:
            self.intend(**steps)

    def before_branch(self, start: str) -> None:
        """``git worktree add -b`` is about to make the branch at commit ``start``."""
        self.intend(branch=start)

    def run(self) -> list[str]:
        """Remove what was made; Ctrl-C and SIGTERM wait until this is done. Returns what was."""
        removed: list[str] = []
        # A cancelled create (an interrupted batch, a cancelled MCP call) or one past its
        # deadline is undone all the same: the undo's own git and engine calls run under a
        # deadline of their own, and no cancellation.
        with signals_deferred(), deadlines.clean_up_within(UNDO_DEADLINE_S):
            if self.making_worktree is not None:
                self.making_worktree.join(WORKTREE_WAIT_S)
            steps = (
                ("containers, network and volumes", self._docker),
                ("port allocations", self._ports),
                ("worktree", self._worktree),
                ("branch", self._branch),
                ("record", self._record),
            )
            for what, step in steps:
                with contextlib.suppress(Exception):
                    if step() and what != "record":
                        removed.append(what)
        return removed

    def _docker(self) -> bool:
        """Remove the workspace's Docker objects, again until none is left: a request the
        interrupt cut short (a container being created) may still complete in the engine."""
        if not self.journal.get("docker"):
            return False
        client = self.client if self.client is not None else engine.connect()
        removed = False
        clean_looks = 0
        for _ in range(DOCKER_PASSES):
            with contextlib.suppress(Exception):  # one object in use: the next pass retries
                removed = (
                    any(docker_services.remove_all(client, self.workspace).values()) or removed
                )
            with contextlib.suppress(Exception):  # an engine slow to answer: look again
                if not self._docker_left(client):
                    clean_looks += 1
                    if clean_looks == 2:  # clean twice, a settle apart: nothing came in late
                        break
            time.sleep(DOCKER_SETTLE_S)
        return removed

    def _docker_left(self, client: Any) -> bool:
        label = {"label": self.workspace.label_filters()}
        return bool(
            docker_services.containers_for(client, self.workspace)
            or client.networks.list(filters=label)
            or client.volumes.list(filters=label)
        )

    def _ports(self) -> bool:
        if not self.journal.get("ports"):
            return False
        forwards.stop(self.workspace.project_id, self.name)  # a remote engine's, if any
        return ports.release(nexus_home(), self.workspace.project_id, self.name) > 0

    def _worktree(self) -> bool:
        path = self.workspace.worktree
        if not self.journal.get("worktree") or not path.exists():
            return False
        git_worktrees.remove_worktree(self.workspace)
        return True

    def _branch(self) -> bool:
        start = self.journal.get("branch")
        if not start:
            return False
        if git.branch_commit(self.project.root, self.name) != start:
            return False  # gone, or something was committed on it meanwhile: keep it
        git.delete_branch(self.project.root, self.name, force=True)
        return True

    def _record(self) -> bool:
        with records.editing(self.project.state_dir) as all_records:
            record = all_records.get(self.name)
            if record is None or not _same_owner(record.creating, self.journal):
                return False  # another create owns the name now
            del all_records[self.name]
        exposure.forget_choice(self.project, self.name)
        return True


def worktree_steps(
    workspace: Workspace, *, docker: bool = False, branch: str | None = None
) -> dict[str, Any]:
    """The journal of :meth:`Rollback.before_worktree`: what it is about to make."""
    steps: dict[str, Any] = {"docker": True, "ports": True} if docker else {}
    if branch is not None:
        steps["branch"] = branch
    path = workspace.worktree
    if not (path.exists() and any(path.iterdir())):
        steps["worktree"] = True
    return steps


def _same_owner(a: dict[str, Any], b: dict[str, Any]) -> bool:
    first, second = owner.parse(a.get("owner", {})), owner.parse(b.get("owner", {}))
    return first is not None and first == second


def reserve(state_dir: Any, record: records.WorkspaceRecord) -> records.WorkspaceRecord | None:
    """Write ``record`` (its journal names this create's owner) unless the name is taken.

    Returns None once reserved; or the record of a create whose owner is gone (killed), taken
    over by this one, for the caller to undo (:func:`take_over_stale`) before trying again.
    """
    with records.editing(state_dir) as all_records:
        existing = all_records.get(record.name)
        if existing is None:
            all_records[record.name] = record
            return None
        stale = take_over_stale(existing, record.creating["owner"])
        if stale is None:
            raise ConflictError(
                f"workspace {record.name!r} already exists",
                hint=f"use `nexus workspace up {record.name}` to start it",
            )
        return stale


def take_over_stale(
    record: records.WorkspaceRecord, me: dict[str, Any]
) -> records.WorkspaceRecord | None:
    """If ``record`` is a create whose owner is gone, make ``me`` its owner (the caller writes the
    records) and return it; None for a created workspace. A live create is a conflict."""
    if not record.creating:
        return None
    holder = owner.parse(record.creating.get("owner", {}))
    if holder is not None and ownership.alive(holder):
        raise ConflictError(
            f"workspace {record.name!r} already exists (another process is creating it)",
            hint="wait for it to finish, or see `nexus workspace list`",
        )
    record.creating = {**record.creating, "owner": me}
    return record


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM while cleaning up (or while work in flight ends); the first signal that
    arrived is re-delivered afterwards. Outside the main thread it holds nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def remember(signum: int, _frame: object) -> None:
        received.append(signum)

    for sig in previous:
        signal.signal(sig, remember)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if received:
            signal.raise_signal(received[0])
