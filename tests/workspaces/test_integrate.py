"""Merging a workspace's branch into a target on real git repositories: never half-merged."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexus_cli.errors import ConflictError, UsageError
from nexus_cli.project import find_project
from nexus_cli.workspaces.handle import Workspace
from nexus_cli.workspaces.integrate import default_target, integrate
from tests.conftest import git, run_nexus


def commit_in(tree: Path, name: str, text: str) -> None:
    (tree / name).write_text(text)
    git(tree, "add", name)
    git(tree, "commit", "-qm", f"change {name}")


@pytest.fixture
def ws(project: Path) -> Workspace:
    assert run_nexus("workspace", "create", "feat").exit_code == 0
    return Workspace(find_project(project), "feat")


def head(root: Path, ref: str = "main") -> str:
    return git(root, "rev-parse", ref).strip()


def test_merge_into_the_checked_out_main_moves_its_files(project: Path, ws: Workspace) -> None:
    commit_in(ws.worktree, "feature.txt", "new\n")
    commit_in(project, "main.txt", "main moved on\n")  # so a real merge commit is needed
    before = head(project)
    done = integrate(ws, default_target(ws))
    assert done.target == "main" and done.commits == 1 and done.before == before
    assert done.after == head(project) != before
    assert (project / "feature.txt").read_text() == "new\n"
    assert git(project, "status", "--porcelain", "--untracked-files=no") == ""
    parents = git(project, "rev-list", "--parents", "-n", "1", "main").split()
    assert len(parents) == 3  # a merge commit
    assert git(project, "log", "-1", "--format=%s", "main").strip() == "Merge branch 'feat'"


def test_rebase_fast_forwards_to_a_straight_history(project: Path, ws: Workspace) -> None:
    commit_in(ws.worktree, "feature.txt", "new\n")
    commit_in(project, "main.txt", "main moved on\n")
    done = integrate(ws, "main", "rebase")
    assert done.strategy == "rebase"
    assert len(git(project, "rev-list", "--parents", "-n", "1", "main").split()) == 2
    assert (project / "feature.txt").exists() and (project / "main.txt").exists()


def test_a_conflict_changes_nothing(project: Path, ws: Workspace) -> None:
    commit_in(ws.worktree, "README.md", "theirs\n")
    commit_in(project, "README.md", "ours\n")
    main_before, branch_before = head(project), head(project, "feat")
    for strategy in ("merge", "rebase"):
        with pytest.raises(ConflictError, match=r"conflicts in README\.md") as info:
            integrate(ws, "main", strategy)
        assert info.value.hint is not None and "nothing was merged" in info.value.hint
        assert head(project) == main_before and head(project, "feat") == branch_before
        assert git(project, "status", "--porcelain", "--untracked-files=no") == ""
        assert git(ws.worktree, "status", "--porcelain") == ""
        assert (project / "README.md").read_text() == "ours\n"


def test_a_target_checked_out_nowhere_is_advanced_by_update_ref(
    project: Path, ws: Workspace
) -> None:
    git(project, "branch", "release")
    commit_in(ws.worktree, "feature.txt", "new\n")
    main_before = head(project)
    done = integrate(ws, "release")
    assert done.after == head(project, "release") != done.before
    assert git(project, "show", "release:feature.txt") == "new\n"
    assert head(project) == main_before  # main and its files untouched
    assert not (project / "feature.txt").exists()
    assert git(project, "worktree", "list", "--porcelain").count("worktree ") == 2  # no scratch


def test_a_merge_commit_says_what_git_merge_of_the_branch_says(
    project: Path, ws: Workspace
) -> None:
    git(project, "branch", "release")
    commit_in(ws.worktree, "feature.txt", "new\n")
    commit_in(project, "main.txt", "main moved on\n")
    git(project, "branch", "-f", "release", "main")  # behind neither: a merge commit is needed
    integrate(ws, "release")
    subject = git(project, "log", "-1", "--format=%s", "release").strip()
    assert subject == "Merge branch 'feat' into release"  # not "Merge branch 'refs/heads/feat'"


def test_a_dirty_target_worktree_is_refused(project: Path, ws: Workspace) -> None:
    commit_in(ws.worktree, "feature.txt", "new\n")
    (project / "README.md").write_text("edited, not committed\n")
    with pytest.raises(ConflictError, match="uncommitted changes"):
        integrate(ws, "main")
    assert (project / "README.md").read_text() == "edited, not committed\n"


def test_nothing_to_merge_and_bad_targets(project: Path, ws: Workspace) -> None:
    done = integrate(ws, "main")
    assert done.commits == 0 and done.before == done.after
    with pytest.raises(UsageError, match="no branch 'nope'"):
        integrate(ws, "nope")
    with pytest.raises(UsageError, match="its own branch"):
        integrate(ws, "feat")
    with pytest.raises(UsageError, match="invalid branch name"):
        integrate(ws, "-x")
    git(project, "checkout", "-q", "--detach")
    with pytest.raises(UsageError, match="detached"):
        default_target(ws)
