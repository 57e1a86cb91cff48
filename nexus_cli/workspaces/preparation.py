"""The first steps of a workspace create that run at once: git makes the worktree in a thread
of its own while the create's thread reaches the engine and makes images, network and volumes
ready (:func:`worktree_while_preparing`, used by :mod:`~nexus_cli.workspaces.creation`).
"""

from __future__ import annotations

import contextvars
import threading
import time
from pathlib import Path

from nexus_cli import deadlines
from nexus_cli.errors import DeadlineError, NexusError
from nexus_cli.telemetry.journal import invocation
from nexus_cli.workspaces import git_worktrees
from nexus_cli.workspaces.engine_prep import prepare_engine
from nexus_cli.workspaces.handle import Workspace
from nexus_cli.workspaces.lifecycle import connect
from nexus_cli.workspaces.progress import Progress
from nexus_cli.workspaces.rollback import Rollback
from nexus_cli.workspaces.template_model import Template

GIT_END_WAIT_S = 30.0  # after the create's deadline, for git (ended then) to be gone


def worktree_while_preparing(
    workspace: Workspace,
    from_ref: str | None,
    refs: tuple[str, str | None],
    docker: bool,
    template: Template,
    progress: Progress,
    undo: Rollback,
) -> tuple[Path, NexusError | None, float | None]:
    """Make the worktree (git, in another thread) while this one reaches the engine (with
    ``docker``) and makes images, network and volumes ready: the client goes to
    ``undo.client``.

    A worktree failure is raised; an engine failure (none answers, a preparation that failed) is
    returned, so that the caller records the (good) worktree before reporting it, and undoes it;
    so is the pull time in ms once the engine is prepared (None when it was not: no services, or
    it failed), which lets the start skip preparing it again. ``refs`` is what
    :func:`git.head_and_branch` said about HEAD and the branch.
    """
    made: list[git_worktrees.AddedWorktree] = []
    failed: list[BaseException] = []
    took: list[float] = []

    def make() -> None:  # git's own process: nothing here imports or prints
        started = time.perf_counter()
        try:
            made.append(
                git_worktrees.add_worktree(
                    workspace, from_ref, refs=refs, before_branch=undo.before_branch
                )
            )
        except BaseException as exc:  # raised again in the create's thread
            failed.append(exc)
        took.append((time.perf_counter() - started) * 1000)

    # What comes next is journalled (in the record that reserved the name; written here only
    # when it differs): the Docker objects, the worktree, (services to start) their port
    # allocations, and a new branch made at HEAD; a branch made at --from is journalled when git
    # is about to make it (its commit is resolved then).
    undo.before_worktree(docker=docker, branch=new_at_head(refs, from_ref))
    # git runs under this create's deadline and cancellation (the context's variables)
    worker = threading.Thread(target=contextvars.copy_context().run, args=(make,), daemon=True)
    undo.making_worktree = worker
    progress.begin("worktree")
    worker.start()
    error: NexusError | None = None
    pulled: float | None = None
    try:
        if docker:
            error, pulled = _reach_engine(workspace, template, progress, undo)
    finally:
        left = (
            deadlines.time_left()
        )  # git is ended at the deadline; its end is waited a little more
        worker.join(None if left is None else left + GIT_END_WAIT_S)
    if worker.is_alive():
        raise DeadlineError(
            f"making the worktree of {workspace.name!r} passed the create's deadline",
            hint="check the repository (`git worktree list`), then run it again",
        )
    if failed:
        raise failed[0]
    invocation.metric("worktree_creation_time_ms", took[0])
    progress.end("worktree")
    return made[0].path, error, pulled


def _reach_engine(
    workspace: Workspace,
    template: Template,
    progress: Progress,
    undo: Rollback,
) -> tuple[NexusError | None, float | None]:
    """Connect to the engine and make the images, network and volumes ready: (the failure, the
    pull time in ms)."""
    try:
        undo.client = connect(workspace.project)
    except NexusError as exc:  # no engine answers: nothing of Docker's was made
        undo.journal["docker"] = False
        return exc, None
    try:
        return None, prepare_engine(undo.client, workspace, template, progress)
    except NexusError as exc:
        return exc, None
    except Exception as exc:  # the Docker SDK's own errors: one line, never a traceback
        return NexusError(f"cannot prepare Docker objects for {workspace.name!r}: {exc}"), None


def new_at_head(refs: tuple[str, str | None], from_ref: str | None) -> str | None:
    """HEAD's commit when ``git worktree add -b`` will make the branch there, else None."""
    head, branch_commit = refs
    return head if branch_commit is None and from_ref is None else None
