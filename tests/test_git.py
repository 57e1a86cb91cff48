"""nexus_cli.git: git processes (through nexus_cli.proc), --end-of-options, check-ref-format,
clear errors."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from nexus_cli import deadlines, git, git_trees
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


def test_a_git_call_ends_at_the_operations_deadline(git_repo: Path) -> None:

    started = time.monotonic()
    with deadlines.deadline_after(0.5), pytest.raises(git.GitError) as caught:
        git.run(git_repo, "-c", "alias.hang=!exec sleep 30", "hang")
    assert time.monotonic() - started < 10
    assert caught.value.message.endswith("did not finish before the deadline of this operation")


def test_git_failure_is_a_git_error_with_gits_message(git_repo: Path) -> None:
    with pytest.raises(git.GitError, match=r"git branch failed: .*not found"):
        git.delete_branch(git_repo, "missing", force=False)


def test_head_and_branch_in_one_process(git_repo: Path) -> None:
    head = run_git(git_repo, "rev-parse", "HEAD").strip()
    assert git.head_and_branch(git_repo, "feat") == (head, None)
    run_git(git_repo, "branch", "feat")
    assert git.head_and_branch(git_repo, "feat") == (head, head)
    run_git(git_repo, "pack-refs", "--all")  # packed refs are found as well
    assert git.head_and_branch(git_repo, "feat") == (head, head)


def test_head_and_branch_without_a_commit_says_how_to_make_one(tmp_path: Path) -> None:
    run_git(tmp_path, "init", "-q")
    with pytest.raises(git.NoCommitError) as info:
        git.head_and_branch(tmp_path, "feat")
    assert info.value.hint is not None and "git commit" in info.value.hint


@pytest.mark.parametrize(
    "name", ["a..b", "x.lock", "x.lock/y", "x/", "x.", "HEAD", "a//b", "a b", "-x", "@", "é"]
)
def test_names_outside_the_plain_subset_are_left_to_git(name: str) -> None:
    assert not git.plainly_valid_branch(name)


_NAMES = st.one_of(
    st.from_regex(git._PLAIN_BRANCH, fullmatch=True),
    st.text(alphabet="ab9_.-/HEADlock", min_size=1, max_size=12),
)


def test_plain_names_skip_git() -> None:
    assert all(git.plainly_valid_branch(n) for n in ("feature-x", "fix/a_1.2", "v1.0-rc", "main"))


@settings(max_examples=150, deadline=None)
@given(name=_NAMES)
def test_every_plainly_valid_name_is_one_git_accepts(name: str) -> None:
    """The check that skips `git check-ref-format` never accepts a name git would refuse."""
    assume(git.plainly_valid_branch(name))
    proc = subprocess.run(
        ["git", "check-ref-format", "--branch", name], capture_output=True, text=True
    )
    assert proc.returncode == 0, (name, proc.stderr)
    assert proc.stdout.strip() == name


def test_git_runs_through_proc_with_its_exit_code_and_output(git_repo: Path) -> None:
    """The runner itself is tested in tests/test_proc.py; here, what git.run makes of it."""
    proc = git.run(git_repo, "-c", "alias.eat=!cat; echo out; exit 3", "eat", check=False)
    assert (proc.returncode, proc.stdout) == (3, "out\n")
    with pytest.raises(git.GitError, match="git -c failed: no output"):
        git.run(git_repo, "-c", "alias.quiet=!exit 1", "quiet")


def test_version_is_gits_answer() -> None:
    assert git.version().startswith("git version ")


def test_a_missing_folder_is_a_git_error(tmp_path: Path) -> None:
    with pytest.raises(git.GitError, match="cannot change to"):
        git.run(tmp_path / "gone", "status")


def test_missing_git_is_one_clear_error(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(git_repo))  # no git there
    with pytest.raises(git.GitError, match="git is not installed"):
        git.run(git_repo, "status")
    with pytest.raises(git.GitError, match="git is not installed"):
        git.version()


def test_config_value_and_commits_touching(git_repo: Path) -> None:
    assert git.config_value(git_repo, "nexus.nothing") is None
    run_git(git_repo, "config", "nexus.thing", "x y")
    assert git.config_value(git_repo, "nexus.thing") == "x y"
    first = run_git(git_repo, "rev-parse", "HEAD").strip()
    (git_repo / "README.md").write_text("two\n")
    run_git(git_repo, "commit", "-q", "-am", "two")
    second = run_git(git_repo, "rev-parse", "HEAD").strip()
    assert git.commits_touching(git_repo, "README.md") == [second, first]
    assert git.commits_touching(git_repo, "README.md", since=first) == [second]
    assert git.file_at(git_repo, first, "README.md") == "# test repo\n"
    assert git.file_at(git_repo, first, "missing") is None


def _marking_script(folder: Path, marker: Path) -> Path:
    script = folder / "mark.sh"
    script.write_text(f'#!/bin/sh\necho "$0" >> {marker}\n')
    script.chmod(0o755)
    return script


def test_no_fsmonitor_hook_or_ssh_program_from_any_config_runs(
    git_repo: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    script = _marking_script(tmp_path, marker)
    run_git(git_repo, "config", "core.fsmonitor", str(script))
    run_git(git_repo, "config", "core.sshCommand", str(script))
    hooks = git_repo / ".git" / "hooks"
    (hooks / "post-checkout").write_text(script.read_text())
    (hooks / "post-checkout").chmod(0o755)
    (git_repo / "new.txt").write_text("x")
    run_git(git_repo, "status")  # the attack works for git itself
    assert marker.exists()
    marker.unlink()
    checkout = git.checkout_of(git_repo / ".git", git_repo)
    assert git.status_porcelain(checkout) == ["?? new.txt"]
    git.worktree_add(git_repo, tmp_path / "wt", branch="wt", new_from=git.head_commit(git_repo))
    git_trees.worktree_tree(git_repo, exclude=".nexus", checkout=checkout)
    assert not marker.exists()
    assert "core.hooksPath=/dev/null" in git.SAFE_CONFIG


def test_checkout_of_finds_the_git_dir_from_the_repository_not_the_dot_git_file(
    git_repo: Path, tmp_path: Path
) -> None:
    assert git.checkout_of(git_repo / ".git", git_repo) == git.Checkout(git_repo / ".git", git_repo)
    run_git(git_repo, "worktree", "add", "-q", str(tmp_path / "one"), "-b", "one")
    run_git(git_repo, "worktree", "add", "-q", str(tmp_path / "two"), "-b", "two")
    checkout = git.checkout_of(git_repo / ".git", tmp_path / "two")
    assert checkout.git_dir == git_repo / ".git" / "worktrees" / "two"
    # the .git file of "two" now points at "one"'s admin folder (a real git dir, not its own)
    (tmp_path / "two" / ".git").write_text(f"gitdir: {git_repo / '.git' / 'worktrees' / 'one'}\n")
    with pytest.raises(git.TamperedWorktreeError, match="no longer points at"):
        git.checkout_of(git_repo / ".git", tmp_path / "two")
    with pytest.raises(git.GitError, match="is not a worktree of the repository"):
        git.checkout_of(git_repo / ".git", tmp_path)
