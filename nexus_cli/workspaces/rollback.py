"""Undoing a failed or interrupted ``workspace create``: remove exactly what it made.

``create`` reserves the name (the record), may create a branch and a worktree, a network,
volumes, containers and port allocations. On failure each is removed again; the branch only when
this create made it and nothing was committed on it since. A step that fails while undoing is
skipped (the others still run), so an interrupt never leaves more behind than necessary.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from nexus_cli import git
from nexus_cli.paths import nexus_home
from nexus_cli.workspaces import docker_services, git_worktrees, ports, records

if TYPE_CHECKING:
    from nexus_cli.workspaces.handle import Workspace


class Rollback:
    def __init__(self, workspace: Workspace, client: Any) -> None:
        self.workspace = workspace
        self.project = workspace.project
        self.name = workspace.name
        self.client = client
        self.worktree_existed = True
        self.created_branch = False
        self.branch_start: str | None = None

    def before_worktree(self) -> None:
        path = self.workspace.worktree
        self.worktree_existed = path.exists() and any(path.iterdir())

    def made_worktree(self, created_branch: bool, start: str | None = None) -> None:
        """The worktree exists; ``start`` is the commit a branch this create made points at."""
        self.created_branch = created_branch
        if created_branch and start is None:
            start = git.branch_commit(self.project.root, self.name)
        self.branch_start = start if created_branch else None

    def run(self) -> list[str]:
        """Remove what was made; Ctrl-C and SIGTERM wait until this is done. Returns what was."""
        removed: list[str] = []
        with _signals_deferred():
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
        if self.client is None:
            return False
        counts = docker_services.remove_all(self.client, self.workspace)
        return any(counts.values())

    def _ports(self) -> bool:
        if self.client is None:
            return False
        return ports.release(nexus_home(), self.workspace.project_id, self.name) > 0

    def _worktree(self) -> bool:
        path = self.workspace.worktree
        if self.worktree_existed or not path.exists():
            return False
        git_worktrees.remove_worktree(self.workspace)
        return True

    def _branch(self) -> bool:
        if not self.created_branch:
            return False
        if git.branch_commit(self.project.root, self.name) != self.branch_start:
            return False  # something was committed on it meanwhile: keep it
        git.delete_branch(self.project.root, self.name, force=True)
        return True

    def _record(self) -> bool:
        with records.editing(self.project.state_dir) as all_records:
            return all_records.pop(self.name, None) is not None


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM while cleaning up; a signal that arrived is re-delivered afterwards."""
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
