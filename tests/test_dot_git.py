"""nexus_cli.dot_git: `.git` in any spelling, and through links when a root is given."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexus_cli.dot_git import inside_git_dir


@pytest.mark.parametrize(
    "path",
    [
        ".git/hooks/x",
        "./.git/config",
        ".GIT/hooks",
        "x/../.git/hooks",
        ".git./hooks",
        ".git /x",
        "%2egit/hooks",
        "a\\.git\\hooks",
        "ＧＩＴ/../.Git/x",
        "sub/.git",
    ],
)
def test_inside_git_dir_any_spelling(path: str) -> None:
    assert inside_git_dir(path)


def test_inside_git_dir_through_symlink(tmp_path: Path) -> None:
    (tmp_path / ".git" / "hooks").mkdir(parents=True)
    (tmp_path / "hooks").symlink_to(tmp_path / ".git" / "hooks")
    assert inside_git_dir("hooks/post-checkout", tmp_path)
    assert not inside_git_dir("docs/gitignore.md", tmp_path)
    assert not inside_git_dir(".github/x.md", tmp_path)


def test_inside_git_dir_uses_root_not_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "h").symlink_to(repo / ".git")
    monkeypatch.chdir(repo / ".git")
    assert not inside_git_dir("docs/x", repo)
    assert inside_git_dir("h/config", repo)
    assert inside_git_dir("GIT~1/config")
    assert inside_git_dir("git~1")
    assert not inside_git_dir("digit~1/x")
