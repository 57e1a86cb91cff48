"""nexus_cli.git: plain git subprocesses, --end-of-options, check-ref-format, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexus_cli import git
from nexus_cli.errors import UsageError
from tests.conftest import git as run_git


def test_resolve_commit_treats_option_like_refs_as_refs(git_repo: Path) -> None:
    head = run_git(git_repo, "rev-parse", "HEAD").strip()
    assert git.resolve_commit(git_repo, "main") == head
    for ref in ("--lock", "--output=/tmp/x", "-b"):
        with pytest.raises(UsageError, match="does not name a commit"):
            git.resolve_commit(git_repo, ref)


def test_branch_exists_and_commit(git_repo: Path) -> None:
    assert git.branch_exists(git_repo, "main")
    assert not git.branch_exists(git_repo, "--all")
    assert git.branch_commit(git_repo, "nope") is None


def test_worktree_add_refuses_an_option_as_branch(git_repo: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        git.worktree_add(git_repo, tmp_path / "wt", branch="--detach", new_from=None)
    assert not (tmp_path / "wt").exists()


def test_no_commit_error_has_the_command(tmp_path: Path) -> None:
    run_git(tmp_path, "init", "-q")
    assert not git.has_commit(tmp_path)
    with pytest.raises(git.NoCommitError) as info:
        git.require_commit(tmp_path)
    assert info.value.hint is not None and "git commit --allow-empty -m init" in info.value.hint


def test_git_failure_is_a_git_error_with_gits_message(git_repo: Path) -> None:
    with pytest.raises(git.GitError, match=r"git branch failed: .*not found"):
        git.delete_branch(git_repo, "missing", force=False)
