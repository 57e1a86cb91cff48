"""Git worktrees: create, inspect, remove and repair a workspace's checkout.

A workspace NAME lives in ``<root>/.nexus/worktrees/NAME`` on branch ``NAME`` (both from its
:class:`~nexus_cli.workspaces.handle.Workspace` handle). Every git call goes
through :mod:`nexus_cli.git` (plain ``git`` subprocesses, user values after ``--end-of-options``,
``--from`` resolved to a commit id before it reaches ``git worktree add``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from nexus_cli import fs, git, safe_path
from nexus_cli.errors import ConflictError, NotFoundError

if TYPE_CHECKING:
    from nexus_cli.project import Project
    from nexus_cli.workspaces.handle import Workspace


@dataclass(slots=True)  # filled in line by line while `git worktree list` is parsed
class WorktreeInfo:
    path: Path
    branch: str | None
    head: str | None
    locked: bool = False
    prunable: bool = False


def list_worktrees(project: Project) -> dict[Path, WorktreeInfo]:
    """Parse ``git worktree list --porcelain`` into path -> info."""
    found: dict[Path, WorktreeInfo] = {}
    current: WorktreeInfo | None = None
    for line in [*git.worktree_list(project.root).splitlines(), ""]:
        if line.startswith("worktree "):
            current = WorktreeInfo(path=Path(line[len("worktree ") :]), branch=None, head=None)
        elif current is None:
            continue
        elif line.startswith("HEAD "):
            current.head = line[5:]
        elif line.startswith("branch "):
            current.branch = line[len("branch ") :].removeprefix("refs/heads/")
        elif line.startswith("locked"):
            current.locked = True
        elif line.startswith("prunable"):
            current.prunable = True
        elif line == "":
            found[current.path] = current
            current = None
    return found


def branch_exists(project: Project, branch: str) -> bool:
    """Whether ``refs/heads/BRANCH`` exists."""
    return git.branch_exists(project.root, branch)


class AddedWorktree(NamedTuple):
    path: Path
    created_branch: bool
    start: str | None  # the commit a branch created by this call points at


def create_worktree(workspace: Workspace, from_ref: str | None) -> tuple[Path, bool]:
    """Add the workspace's worktree; an existing branch is checked out, not recreated.

    Returns the path and whether the branch was created by this call (see :func:`add_worktree`).
    """
    added = add_worktree(workspace, from_ref)
    return added.path, added.created_branch


def add_worktree(
    workspace: Workspace,
    from_ref: str | None,
    *,
    refs: tuple[str, str | None] | None = None,
    before_branch: Callable[[str], None] | None = None,
) -> AddedWorktree:
    """Add the workspace's worktree; an existing branch is checked out, not recreated.

    ``from_ref`` is resolved to a commit id first, so whatever the user typed never reaches
    ``git worktree add`` as an option. ``refs`` is :func:`git.head_and_branch` for the branch when
    the caller already asked (it is asked here otherwise): with it, a new branch costs one git
    process, ``git worktree add -b``. ``before_branch(start)`` is called just before a new
    branch is made at commit ``start`` (``workspace create`` journals it).
    """
    project, name = workspace.project, workspace.branch
    path = workspace.worktree
    fs.require_directory(path.parent, what="worktrees folder", root=project.root)
    safe_path.verified(project.root, path)  # git gets a path name: no link on the way
    if path.exists() and any(path.iterdir()):
        raise ConflictError(
            f"{path} already exists and is not empty",
            hint=f"move it aside or run `nexus workspace repair {name}`",
        )
    head, branch_commit = refs or git.head_and_branch(project.root, name)
    start = git.resolve_commit(project.root, from_ref) if from_ref is not None else head
    exists = branch_commit is not None
    if exists and from_ref is not None:
        raise ConflictError(
            f"branch {name!r} already exists; --from applies only to a new branch",
            hint=f"drop --from to check out the existing branch {name!r}",
        )
    new_from = None if exists else start
    if new_from is not None and before_branch is not None:
        before_branch(new_from)
    try:
        git.worktree_add(project.root, path, branch=name, new_from=new_from)
    except git.GitError as exc:
        # Two `git worktree add` at once (a batch, two processes): git may read the entry the
        # other is writing and stop ("failed to read .git/worktrees/X/commondir"); once more.
        racing = "failed to read" in exc.message and "worktrees" in exc.message
        if "prune" not in exc.message and not racing:  # git suggests prune for a stale entry
            raise
        if not racing:
            git.worktree_prune(project.root)  # a stale entry for a folder deleted by hand
        if not exists and git.branch_exists(project.root, name):
            new_from = None  # `add -b` made the branch before it found the stale entry
        git.worktree_add(project.root, path, branch=name, new_from=new_from)
    return AddedWorktree(path, not exists, None if exists else start)


def uncommitted_changes(project: Project, path: Path) -> list[str]:
    """``git status --porcelain`` lines of a worktree (empty when clean or missing).

    Git is told the worktree's git dir as the repository records it (:func:`git.checkout_of`),
    so a ``.git`` file rewritten by a container is never followed: it is a
    :class:`git.TamperedWorktreeError`.
    """
    if not os.path.lexists(path / ".git"):
        return []
    return git.status_porcelain(git.checkout_of(project.git_common_dir, path))


def check_pointer(project: Project, path: Path) -> None:
    """:class:`git.TamperedWorktreeError` when the worktree's ``.git`` file was changed."""
    git.checkout_of(project.git_common_dir, path)


def unmerged_commits(project: Project, branch: str) -> int:
    """Commits on ``branch`` that the main worktree's HEAD does not contain."""
    if not branch_exists(project, branch) or not git.has_commit(project.root):
        return 0
    return git.count_commits(project.root, "HEAD", f"refs/heads/{branch}")


def remove_worktree(workspace: Workspace) -> None:
    """Remove the worktree folder and git's entry for it (forcefully: callers checked first)."""
    project, path = workspace.project, workspace.worktree
    safe_path.verified(project.root, path)  # never remove through a link on the way
    info = list_worktrees(project).get(path)
    if info is not None and info.locked:
        git.worktree_unlock(project.root, path)
    if info is not None and path.exists():
        git.worktree_remove(project.root, path)
    elif path.exists():
        safe_path.rmtree(project.root, path)
    git.worktree_prune(project.root)


def delete_branch(project: Project, branch: str, *, force: bool) -> bool:
    if not branch_exists(project, branch):
        return False
    git.delete_branch(project.root, branch, force=force)
    return True


def repair_worktree(workspace: Workspace) -> list[str]:
    """Bring back a workspace's worktree from its branch. Returns what was done, in words."""
    project, name, path = workspace.project, workspace.branch, workspace.worktree
    done: list[str] = []
    info = list_worktrees(project).get(path)
    if info is not None and info.locked:
        git.worktree_unlock(project.root, path)
        done.append("unlocked the worktree entry")
    if path.exists() and os.path.lexists(path / ".git"):
        try:
            check_pointer(project, path)
        except git.TamperedWorktreeError:
            _restore_pointer(project, path)
            return [*done, "restored the worktree's .git file, which pointed elsewhere"]
        git.worktree_repair(project.root, path)
        return done or ["worktree is healthy"]
    git.worktree_prune(project.root)
    if info is not None:
        done.append("pruned the stale worktree entry")
    if not branch_exists(project, name):
        raise NotFoundError(
            f"branch {name!r} no longer exists, so the worktree cannot be restored",
            hint=f"delete the workspace with `nexus workspace delete {name} --force`",
        )
    if path.exists() and any(path.iterdir()):
        raise ConflictError(f"{path} exists but is not a git worktree", hint="move it aside first")
    git.worktree_add(project.root, path, branch=name, new_from=None)
    done.append(
        f"restored the worktree from branch {name!r} (uncommitted work that was in the deleted "
        "folder cannot be restored)"
    )
    return done


def _restore_pointer(project: Project, path: Path) -> None:
    """Put back the ``.git`` file of a worktree whose pointer was changed: a link or folder there
    is moved aside first (``.git.tampered-N``, kept for a look), then the file is written from the
    repository's own record (its ``worktrees/*/gitdir``) and ``git worktree repair`` checks both
    directions."""
    dotgit = path / ".git"
    admin = git.admin_dir(project.git_common_dir, path)
    if admin is None:
        raise NotFoundError(
            f"{path} is not registered as a worktree of this repository",
            hint=f"move it aside, then run `nexus workspace repair {path.name}`",
        )
    if dotgit.is_symlink() or not dotgit.is_file():
        n = 1
        while os.path.lexists(path / f".git.tampered-{n}"):
            n += 1
        os.rename(dotgit, path / f".git.tampered-{n}")
    fs.atomic_write(dotgit, f"gitdir: {admin}\n", root=project.root)
    git.worktree_repair(project.root, path)
    check_pointer(project, path)  # still wrong: say so rather than report success
