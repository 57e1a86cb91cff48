"""nexus_cli.git_trees: trees written with a private index, the repository's own index untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexus_cli import git, git_trees
from tests.conftest import git as run_git


def test_worktree_tree_uses_a_temporary_index_and_leaves_out_a_folder(git_repo: Path) -> None:
    (git_repo / "new.txt").write_text("untracked\n")
    (git_repo / ".nexus").mkdir()
    (git_repo / ".nexus" / "tasks.jsonl").write_text("{}\n")
    run_git(git_repo, "add", ".nexus")  # staged in the real index: still left out
    (git_repo / ".gitignore").write_text("*.log\n")
    (git_repo / "noise.log").write_text("ignored\n")
    index_before = (git_repo / ".git" / "index").read_bytes()
    tree = git_trees.worktree_tree(git_repo, exclude=".nexus")
    names = run_git(git_repo, "ls-tree", "-r", "--name-only", tree).split()
    assert names == [".gitignore", "README.md", "new.txt"]
    assert (git_repo / ".git" / "index").read_bytes() == index_before
    run_git(git_repo, "add", "-A")
    run_git(git_repo, "commit", "-q", "-m", "all")
    head = run_git(git_repo, "rev-parse", "HEAD").strip()
    assert git_trees.commit_tree_without(git_repo, head, exclude=".nexus") == tree
    assert git.head_commit(git_repo) == head


def test_a_tracked_file_that_gitignore_names_stays_in_the_tree(git_repo: Path) -> None:
    (git_repo / ".gitignore").write_text("README.md\n")
    tree = git_trees.worktree_tree(git_repo, exclude=".nexus")
    assert "README.md" in run_git(git_repo, "ls-tree", "--name-only", tree).split()


def test_the_callers_index_file_is_not_inherited(
    git_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_INDEX_FILE", str(tmp_path / "hook-index"))
    assert "README.md" in git.output(git_repo, "ls-files")
    with git_trees.temporary_index(git_repo) as index:
        assert git.run(git_repo, "ls-files", index_file=index).stdout == ""
