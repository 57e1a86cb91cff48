"""Git worktrees through GitPython: create, inspect, remove and repair a workspace's checkout.

A workspace NAME lives in ``<root>/.nexus/worktrees/NAME`` on branch ``NAME``. GitPython is
imported inside the functions (it is a heavy import).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nexus_cli.errors import ConflictError, NexusError, NotFoundError

if TYPE_CHECKING:
    from nexus_cli.project import Project


@dataclass
class WorktreeInfo:
    path: Path
    branch: str | None
    head: str | None
    locked: bool = False
    prunable: bool = False


def worktree_path(project: Project, name: str) -> Path:
    return project.worktrees_dir / name


def _git(project: Project, *args: str) -> str:
    """Run ``git ARGS`` in the main worktree; a git failure becomes a :class:`NexusError`."""
    import git

    try:
        return str(git.Git(str(project.root)).execute(["git", *args]))
    except git.GitCommandError as exc:
        detail = (exc.stderr or "").strip().removeprefix("stderr:").strip(" '\n")
        raise NexusError(f"git {args[0]} failed: {detail or exc}") from None


def list_worktrees(project: Project) -> dict[Path, WorktreeInfo]:
    """Parse ``git worktree list --porcelain`` into path -> info."""
    found: dict[Path, WorktreeInfo] = {}
    current: WorktreeInfo | None = None
    for line in [*_git(project, "worktree", "list", "--porcelain").splitlines(), ""]:
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
    """Whether ``refs/heads/BRANCH`` exists (read from the ref store: no git process)."""
    ref = f"refs/heads/{branch}"
    if (project.git_common_dir / ref).is_file():
        return True
    try:
        packed = (project.git_common_dir / "packed-refs").read_text(errors="replace")
    except OSError:
        packed = ""
    if any(line.endswith(" " + ref) for line in packed.splitlines()):
        return True
    if (project.git_common_dir / "reftable").is_dir():  # not a files ref store: ask git
        return bool(_git(project, "branch", "--list", branch).strip())
    return False


def create_worktree(project: Project, name: str, from_ref: str | None) -> Path:
    """Add the worktree for ``name``; an existing branch is checked out, not recreated."""
    path = worktree_path(project, name)
    if path.exists() and any(path.iterdir()):
        raise ConflictError(
            f"{path} already exists and is not empty",
            hint=f"move it aside or run `nexus workspace repair {name}`",
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    if branch_exists(project, name):
        if from_ref is not None:
            raise ConflictError(
                f"branch {name!r} already exists; --from applies only to a new branch",
                hint=f"drop --from to check out the existing branch {name!r}",
            )
        args = ["worktree", "add", str(path), name]
    else:
        args = ["worktree", "add", "-b", name, str(path), from_ref or "HEAD"]
    try:
        _git(project, *args)
    except NexusError as exc:
        if "prune" not in exc.message and "already" not in exc.message:
            raise
        _git(project, "worktree", "prune")  # a stale entry for a folder deleted by hand
        _git(project, *args)
    return path


def uncommitted_changes(path: Path) -> list[str]:
    """``git status --porcelain`` lines of a worktree (empty when clean or missing)."""
    import git

    if not (path / ".git").exists():
        return []
    try:
        out = git.Repo(path).git.status("--porcelain")
    except git.GitCommandError:
        return []
    return [line for line in str(out).splitlines() if line.strip()]


def unmerged_commits(project: Project, branch: str) -> int:
    """Commits on ``branch`` that the main worktree's HEAD does not contain."""
    if not branch_exists(project, branch):
        return 0
    return int(_git(project, "rev-list", "--count", f"HEAD..{branch}").strip() or 0)


def remove_worktree(project: Project, name: str) -> None:
    """Remove the worktree folder and git's entry for it (forcefully: callers checked first)."""
    path = worktree_path(project, name)
    info = list_worktrees(project).get(path)
    if info is not None and info.locked:
        _git(project, "worktree", "unlock", str(path))
    if info is not None and path.exists():
        _git(project, "worktree", "remove", "--force", str(path))
    elif path.exists():
        import shutil

        shutil.rmtree(path)
    _git(project, "worktree", "prune")


def delete_branch(project: Project, branch: str, *, force: bool) -> bool:
    if not branch_exists(project, branch):
        return False
    _git(project, "branch", "-D" if force else "-d", branch)
    return True


def repair_worktree(project: Project, name: str) -> list[str]:
    """Bring back a workspace's worktree from its branch. Returns what was done, in words."""
    path = worktree_path(project, name)
    done: list[str] = []
    info = list_worktrees(project).get(path)
    if info is not None and info.locked:
        _git(project, "worktree", "unlock", str(path))
        done.append("unlocked the worktree entry")
    if path.exists() and (path / ".git").exists():
        _git(project, "worktree", "repair", str(path))
        return done or ["worktree is healthy"]
    _git(project, "worktree", "prune")
    if info is not None:
        done.append("pruned the stale worktree entry")
    if not branch_exists(project, name):
        raise NotFoundError(
            f"branch {name!r} no longer exists, so the worktree cannot be restored",
            hint=f"delete the workspace with `nexus workspace delete {name} --force`",
        )
    if path.exists() and any(path.iterdir()):
        raise ConflictError(f"{path} exists but is not a git worktree", hint="move it aside first")
    _git(project, "worktree", "add", str(path), name)
    done.append(
        f"restored the worktree from branch {name!r} (uncommitted work that was in the deleted "
        "folder cannot be restored)"
    )
    return done
