"""Bringing a workspace's branch into a target branch: the merge step of ``workspace finish``.

Never half-merged: a conflict is aborted (``git merge --abort`` / ``git rebase --abort``) and
reported with the conflicting files, leaving every branch and worktree as it was. Where the
target is checked out (usually the main worktree), the merge happens there, so its files follow
the branch; that worktree must have no tracked changes. Where it is checked out nowhere, the merge
happens in a scratch worktree and the branch is advanced with ``git update-ref NEW OLD``, which
fails rather than lose a commit someone else added meanwhile.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nexus_cli import git, proc
from nexus_cli.errors import ConflictError, UsageError
from nexus_cli.workspaces.git_worktrees import list_worktrees

if TYPE_CHECKING:
    from nexus_cli.workspaces.handle import Workspace

STRATEGIES = ("merge", "rebase")


@dataclass(frozen=True, slots=True)
class Integration:
    target: str
    strategy: str
    before: str  # the target's commit before
    after: str  # and after (equal when there was nothing to bring in)
    commits: int  # commits of the workspace branch that were not on the target

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "strategy": self.strategy,
            "before": self.before,
            "after": self.after,
            "commits": self.commits,
        }


def default_target(workspace: Workspace) -> str:
    """The branch checked out in the main worktree."""
    done = git.run(
        workspace.project.root, "symbolic-ref", "--quiet", "--short", "HEAD", check=False
    )
    branch = done.stdout.strip()
    if done.returncode != 0 or not branch:
        raise UsageError(
            "the main worktree is not on a branch (detached HEAD)",
            hint="name the branch to merge into with --into BRANCH",
        )
    return branch


def integrate(workspace: Workspace, target: str, strategy: str = "merge") -> Integration:
    """Merge (or rebase, then fast-forward) the workspace's branch into ``target``."""
    if strategy not in STRATEGIES:
        raise UsageError(f"unknown strategy {strategy!r}", hint="use merge or rebase")
    root = workspace.project.root
    git.check_branch_name(root, target)
    if target == workspace.branch:
        raise UsageError(f"cannot finish {workspace.name!r} into its own branch")
    before = git.branch_commit(root, target)
    if before is None:
        raise UsageError(f"there is no branch {target!r} to merge into")
    commits = git.count_commits(root, f"refs/heads/{target}", f"refs/heads/{workspace.branch}")
    if commits == 0:
        return Integration(target, strategy, before, before, 0)
    if strategy == "rebase":
        _rebase(workspace, target)
    checked_out = next(
        (info.path for info in list_worktrees(workspace.project).values() if info.branch == target),
        None,
    )
    if checked_out is not None:
        _merge_in(
            workspace.project.git_common_dir,
            checked_out,
            workspace.branch,
            ff_only=strategy == "rebase",
            target=target,
        )
    else:
        _merge_elsewhere(workspace, target, before, ff_only=strategy == "rebase")
    after = git.branch_commit(root, target) or before
    return Integration(target, strategy, before, after, commits)


def _in(common: Path, tree: Path, *args: str) -> proc.Completed:
    """``git ARGS`` in the worktree ``tree``, with the git dir its repository records for it:
    never the worktree's own ``.git`` file, which a container may have written."""
    return git.run(tree, *args, check=False, checkout=git.checkout_of(common, tree))


def _rebase(workspace: Workspace, target: str) -> None:
    tree, common = workspace.worktree, workspace.project.git_common_dir
    done = _in(common, tree, "rebase", "--no-autostash", f"refs/heads/{target}")
    if done.returncode != 0:
        files = _conflicts(common, tree)
        _in(common, tree, "rebase", "--abort")
        raise _conflict_error(workspace.branch, target, files, "rebasing")


def _merge_in(common: Path, tree: Path, branch: str, *, ff_only: bool, target: str) -> None:
    checkout = git.checkout_of(common, tree)
    changed = [line for line in git.status_porcelain(checkout) if not line.startswith("?? ")]
    if changed:
        raise ConflictError(
            f"{target!r} is checked out in {tree} with uncommitted changes "
            f"({len(changed)}: {', '.join(line[3:] for line in changed[:5])})",
            hint="commit or stash them there, then finish again",
        )
    done = _in(common, tree, "merge", *_how(branch, target, ff_only), f"refs/heads/{branch}")
    if done.returncode != 0:
        files = _conflicts(common, tree)
        _in(common, tree, "merge", "--abort")
        if not files:
            detail = (done.stderr or done.stdout).strip().splitlines()
            raise ConflictError(
                f"git merge of {branch!r} into {target!r} failed: "
                + ("; ".join(detail[-2:]) or "no output"),
                hint="nothing was merged; fix the cause and finish again",
            )
        raise _conflict_error(branch, target, files, "merging")


def _merge_elsewhere(workspace: Workspace, target: str, before: str, *, ff_only: bool) -> None:
    root, common = workspace.project.root, workspace.project.git_common_dir
    with tempfile.TemporaryDirectory(prefix="nexus-finish-") as scratch:
        tree = Path(scratch) / "tree"
        git.run(root, "worktree", "add", "--quiet", "--detach", str(tree), before)
        try:
            how = _how(workspace.branch, target, ff_only)
            done = _in(common, tree, "merge", *how, f"refs/heads/{workspace.branch}")
            if done.returncode != 0:
                files = _conflicts(common, tree)
                _in(common, tree, "merge", "--abort")
                raise _conflict_error(workspace.branch, target, files, "merging")
            merged = _in(common, tree, "rev-parse", "HEAD").stdout.strip()
            moved = git.run(root, "update-ref", f"refs/heads/{target}", merged, before, check=False)
            if moved.returncode != 0:
                raise ConflictError(
                    f"{target!r} moved while {workspace.name!r} was being merged into it",
                    hint="nothing was changed; finish again",
                )
        finally:
            git.run(root, "worktree", "remove", "--force", str(tree), check=False)
            git.worktree_prune(root)


def _how(branch: str, target: str, ff_only: bool) -> list[str]:
    """``git merge`` options: a fast-forward, or a merge commit with git's usual subject."""
    return ["--ff-only"] if ff_only else ["--no-edit", "-m", git.merge_message(branch, target)]


def _conflicts(common: Path, tree: Path) -> list[str]:
    done = _in(common, tree, "diff", "--name-only", "--diff-filter=U")
    return [line for line in done.stdout.splitlines() if line]


def _conflict_error(branch: str, target: str, files: list[str], doing: str) -> ConflictError:
    shown = ", ".join(files[:10]) + (f" and {len(files) - 10} more" if len(files) > 10 else "")
    return ConflictError(
        f"{doing} {branch!r} into {target!r} conflicts in {shown or 'the history'}",
        hint=f"nothing was merged; resolve it on {branch!r} (e.g. merge {target!r} into it) "
        "and finish again",
        category="merge_conflict",
    )
