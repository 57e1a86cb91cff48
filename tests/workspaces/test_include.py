"""``.worktreeinclude``: ignored files a new worktree gets, on real git repositories."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nexus_cli.workspaces.include import bring_ignored_files
from tests.conftest import git, run_nexus


@pytest.fixture
def repo_with_ignored(project: Path, tmp_path: Path) -> Path:
    (project / ".gitignore").write_text(".env\ncache/\n*.link\nlocal.cfg\n")
    (project / "tracked.txt").write_text("tracked\n")
    git(project, "add", ".gitignore", "tracked.txt")
    git(project, "commit", "-qm", "ignore rules")
    (project / ".env").write_text("SECRET=1\n")
    (project / "cache").mkdir()
    (project / "cache" / "big.bin").write_bytes(os.urandom(4096))
    (project / "local.cfg").write_text("not listed\n")
    (project / "untracked.txt").write_text("untracked, not ignored\n")
    outside = tmp_path / "outside-secret"
    outside.write_text("do not copy\n")
    (project / "out.link").symlink_to(outside)
    (project / "in.link").symlink_to(project / ".env")
    (project / ".worktreeinclude").write_text(
        "# what new worktrees need\n.env\ncache/\n*.link\ntracked.txt\nuntracked.txt\n"
    )
    return project


def test_listed_ignored_files_are_copied_and_a_link_out_is_refused(
    repo_with_ignored: Path,
) -> None:
    result = run_nexus("workspace", "create", "inc", "--json")
    assert result.exit_code == 0, result.stderr
    created = result.json()
    assert created["included"] == [".env", "cache/big.bin", "in.link"]
    assert created["included_refused"] == [
        {"path": "out.link", "reason": "a link that leads out of the repository"}
    ]
    tree = repo_with_ignored / ".nexus" / "worktrees" / "inc"
    assert (tree / ".env").read_text() == "SECRET=1\n"
    assert (tree / "cache" / "big.bin").read_bytes() == (
        repo_with_ignored / "cache" / "big.bin"
    ).read_bytes()
    assert (tree / "in.link").read_text() == "SECRET=1\n" and not (tree / "in.link").is_symlink()
    assert not os.path.lexists(tree / "out.link")
    assert not (tree / "local.cfg").exists()  # ignored but not listed
    assert not (tree / "untracked.txt").exists()  # listed but not ignored
    assert git(tree, "status", "--porcelain") == ""  # nothing copied shows as a change


def test_the_refusal_is_one_line_on_stderr(repo_with_ignored: Path) -> None:
    result = run_nexus("workspace", "create", "inc2")
    assert result.exit_code == 0, result.stderr
    assert ".worktreeinclude: not copying 'out.link': a link that leads out" in result.stderr
    assert "copied 3 ignored files" in result.stderr


def test_hardlink_shares_the_file_and_skip_copies_nothing(repo_with_ignored: Path) -> None:
    assert run_nexus("workspace", "create", "hl", "--ignored-files", "hardlink").exit_code == 0
    source = repo_with_ignored / "cache" / "big.bin"
    linked = repo_with_ignored / ".nexus" / "worktrees" / "hl" / "cache" / "big.bin"
    assert os.stat(source).st_ino == os.stat(linked).st_ino
    skipped = run_nexus("workspace", "create", "sk", "--ignored-files", "skip", "--json")
    assert skipped.exit_code == 0 and skipped.json()["included"] == []
    assert not (repo_with_ignored / ".nexus" / "worktrees" / "sk" / ".env").exists()


def test_reflink_gives_an_independent_copy(repo_with_ignored: Path) -> None:
    assert run_nexus("workspace", "create", "rl", "--ignored-files", "reflink").exit_code == 0
    copy = repo_with_ignored / ".nexus" / "worktrees" / "rl" / ".env"
    assert copy.read_text() == "SECRET=1\n"
    copy.write_text("changed\n")
    assert (repo_with_ignored / ".env").read_text() == "SECRET=1\n"


def test_a_file_the_branch_already_has_is_not_overwritten(repo_with_ignored: Path) -> None:
    git(repo_with_ignored, "checkout", "-qb", "with-env")
    (repo_with_ignored / ".env").write_text("FROM=branch\n")
    git(repo_with_ignored, "add", "-f", ".env")
    git(repo_with_ignored, "commit", "-qm", "env on a branch")
    git(repo_with_ignored, "checkout", "-q", "main")
    (repo_with_ignored / ".env").write_text("SECRET=1\n")
    result = run_nexus("workspace", "create", "with-env", "--json")
    assert result.exit_code == 0, result.stderr
    tree = repo_with_ignored / ".nexus" / "worktrees" / "with-env"
    assert (tree / ".env").read_text() == "FROM=branch\n"
    assert ".env" not in result.json()["included"]


def test_a_linked_include_file_stops_the_create_and_leaves_nothing(
    repo_with_ignored: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "patterns"
    elsewhere.write_text("*\n")
    (repo_with_ignored / ".worktreeinclude").unlink()
    (repo_with_ignored / ".worktreeinclude").symlink_to(elsewhere)
    result = run_nexus("workspace", "create", "bad")
    assert result.exit_code != 0
    assert "must be a plain file" in result.stderr.splitlines()[0]
    assert "Traceback" not in result.stderr
    assert run_nexus("workspace", "list", "--json").json()["workspaces"] == []
    assert "bad" not in git(repo_with_ignored, "branch", "--list", "bad")


def test_an_unknown_mode_is_a_usage_error(repo_with_ignored: Path) -> None:
    result = run_nexus("workspace", "create", "x", "--ignored-files", "move")
    assert result.exit_code == 2 and "move" in result.stderr


def test_links_out_through_folders_on_either_side_are_refused(
    project: Path, tmp_path: Path
) -> None:
    """Hostile cases that hold: a link to a folder outside, a link below an ignored folder, a
    loop, patterns that climb (``../``, absolute), and a branch that commits a link where the
    main checkout has an ignored folder (the copy would land outside the worktree)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("s\n")
    (project / ".gitignore").write_text("linkdir\ncache/\nloop\nconfd/\n")
    git(project, "add", ".gitignore")
    git(project, "commit", "-qm", "ignore")
    (project / "linkdir").symlink_to(outside)
    (project / "cache").mkdir()
    (project / "cache" / "inner").symlink_to(outside)
    (project / "loop").symlink_to("loop")
    (project / "confd").mkdir()
    (project / "confd" / "app.cfg").write_text("cfg\n")
    (project / ".worktreeinclude").write_text(
        f"../outside/secret\n{outside}/secret\nlinkdir/secret\nlinkdir\ncache/**\nloop\nconfd/\n"
    )
    tree = tmp_path / "tree"
    git(project, "worktree", "add", "-q", "-b", "evil", str(tree))
    (tree / "confd").symlink_to(outside)
    git(tree, "add", "-f", "confd")
    git(tree, "commit", "-qm", "a link where the checkout has a folder")
    result = bring_ignored_files(project, tree)
    assert result.copied == []
    assert [path for path, _ in result.refused] == [
        "cache/inner",
        "confd/app.cfg",
        "linkdir",
        "loop",
    ]
    assert sorted(os.listdir(outside)) == ["secret"]  # nothing written outside
