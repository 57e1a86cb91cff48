from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nexus_cli.errors import ConflictError, NexusError, NotFoundError
from nexus_cli.project import find_project
from nexus_cli.workspaces import git_worktrees
from nexus_cli.workspaces.handle import Workspace
from tests.conftest import git


def test_create_new_branch_from_head(git_repo: Path) -> None:
    project = find_project(git_repo)
    path, _ = git_worktrees.create_worktree(Workspace(project, "feat"), None)
    assert path == git_repo / ".nexus" / "worktrees" / "feat"
    assert git(path, "rev-parse", "--abbrev-ref", "HEAD").strip() == "feat"
    info = git_worktrees.list_worktrees(project)[path]
    assert info.branch == "feat" and not info.locked


def test_existing_branch_is_checked_out_not_recreated(git_repo: Path) -> None:
    git(git_repo, "branch", "old")
    (git_repo / "new.txt").write_text("x")
    git(git_repo, "add", "new.txt")
    git(git_repo, "commit", "-qm", "after")
    project = find_project(git_repo)
    path, _ = git_worktrees.create_worktree(Workspace(project, "old"), None)
    assert not (path / "new.txt").exists()
    git(git_repo, "branch", "other")
    with pytest.raises(ConflictError, match="--from applies only"):
        git_worktrees.create_worktree(Workspace(project, "other"), "main")


def test_from_ref(git_repo: Path) -> None:
    first = git(git_repo, "rev-parse", "HEAD").strip()
    (git_repo / "b.txt").write_text("x")
    git(git_repo, "add", "b.txt")
    git(git_repo, "commit", "-qm", "second")
    path, _ = git_worktrees.create_worktree(Workspace(find_project(git_repo), "fix"), first)
    assert git(path, "rev-parse", "HEAD").strip() == first


def test_bad_ref_is_a_clean_error(git_repo: Path) -> None:
    with pytest.raises(NexusError, match="does not name a commit"):
        git_worktrees.create_worktree(Workspace(find_project(git_repo), "x"), "no-such-ref")


def test_uncommitted_and_unmerged(git_repo: Path) -> None:
    project = find_project(git_repo)
    path, _ = git_worktrees.create_worktree(Workspace(project, "feat"), None)
    assert git_worktrees.uncommitted_changes(project, path) == []
    assert git_worktrees.unmerged_commits(project, "feat") == 0
    (path / "work.txt").write_text("x")
    assert len(git_worktrees.uncommitted_changes(project, path)) == 1
    git(path, "add", "work.txt")
    git(path, "commit", "-qm", "work")
    assert git_worktrees.unmerged_commits(project, "feat") == 1


def test_repair_restores_a_deleted_folder(git_repo: Path) -> None:
    project = find_project(git_repo)
    path, _ = git_worktrees.create_worktree(Workspace(project, "feat"), None)
    (path / "c.txt").write_text("committed")
    git(path, "add", "c.txt")
    git(path, "commit", "-qm", "c")
    shutil.rmtree(path)
    assert git_worktrees.list_worktrees(project)[path].prunable
    done = git_worktrees.repair_worktree(Workspace(project, "feat"))
    assert any("pruned" in d for d in done)
    assert any("uncommitted work" in d for d in done)
    assert (path / "c.txt").read_text() == "committed"


def test_repair_unlocks_a_locked_entry(git_repo: Path) -> None:
    project = find_project(git_repo)
    path, _ = git_worktrees.create_worktree(Workspace(project, "feat"), None)
    git(git_repo, "worktree", "lock", str(path))
    shutil.rmtree(path)
    done = git_worktrees.repair_worktree(Workspace(project, "feat"))
    assert done[0] == "unlocked the worktree entry"
    assert (path / ".git").exists()
    assert not git_worktrees.list_worktrees(project)[path].locked


def test_repair_without_branch_says_so(git_repo: Path) -> None:
    project = find_project(git_repo)
    path, _ = git_worktrees.create_worktree(Workspace(project, "feat"), None)
    shutil.rmtree(path)
    git(git_repo, "worktree", "prune")
    git(git_repo, "branch", "-D", "feat")
    with pytest.raises(NotFoundError, match="no longer exists"):
        git_worktrees.repair_worktree(Workspace(project, "feat"))


def test_a_stale_entry_for_a_new_branch_is_pruned(git_repo: Path) -> None:
    """`add -b` makes the branch before it finds the stale entry; the retry checks it out."""
    project = find_project(git_repo)
    path = git_repo / ".nexus" / "worktrees" / "feat"
    git(git_repo, "worktree", "add", "-q", "--detach", str(path))
    shutil.rmtree(path)  # deleted by hand: git still lists it
    head = git(git_repo, "rev-parse", "HEAD").strip()
    added = git_worktrees.add_worktree(Workspace(project, "feat"), None)
    assert added.created_branch and added.start == head
    assert git(path, "rev-parse", "--abbrev-ref", "HEAD").strip() == "feat"


def test_add_worktree_reports_the_start_commit_of_a_new_branch_only(git_repo: Path) -> None:
    project = find_project(git_repo)
    first = git(git_repo, "rev-parse", "HEAD").strip()
    assert git_worktrees.add_worktree(Workspace(project, "fix"), first).start == first
    git(git_repo, "branch", "old")
    added = git_worktrees.add_worktree(Workspace(project, "old"), None)
    assert not added.created_branch and added.start is None
