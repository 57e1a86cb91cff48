"""`nexus init` and finding the project from anywhere inside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexus_cli.errors import NotAProjectError
from nexus_cli.project import find_project
from tests.conftest import git, run_nexus


def test_init_creates_config_and_gitignore(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(git_repo)
    result = run_nexus("init")
    assert result.exit_code == 0, result.stderr
    nexus_dir = git_repo / ".nexus"
    assert (nexus_dir / "config.yaml").is_file()
    ignore = (nexus_dir / ".gitignore").read_text().splitlines()
    assert "worktrees/" in ignore and "*.db" in ignore
    (nexus_dir / "tasks.jsonl").write_text("")
    (nexus_dir / "tasks.db").write_text("")
    (nexus_dir / "worktrees").mkdir()
    (nexus_dir / "worktrees" / "x").write_text("")
    status = git(git_repo, "status", "--porcelain", "--untracked-files=all")
    assert ".nexus/config.yaml" in status and ".nexus/tasks.jsonl" in status
    assert "tasks.db" not in status and "worktrees" not in status


def test_init_is_idempotent(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(git_repo)
    run_nexus("init")
    snapshot = {p: p.read_bytes() for p in (git_repo / ".nexus").rglob("*") if p.is_file()}
    second = run_nexus("init", "--json")
    assert second.exit_code == 0
    assert second.json()["changed"] == []
    assert {p: p.read_bytes() for p in (git_repo / ".nexus").rglob("*") if p.is_file()} == snapshot


def test_init_keeps_user_gitignore_lines(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (git_repo / ".nexus").mkdir()
    (git_repo / ".nexus" / ".gitignore").write_text("my-own-line")
    (git_repo / ".nexus" / "config.yaml").write_text("version: 1\nmine: true\n")
    monkeypatch.chdir(git_repo)
    assert run_nexus("init").exit_code == 0
    assert (git_repo / ".nexus" / ".gitignore").read_text().startswith("my-own-line\n")
    assert (git_repo / ".nexus" / "config.yaml").read_text() == "version: 1\nmine: true\n"


def test_init_outside_git_says_git_init(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_nexus("init")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: not a git repository")
    assert "git init" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / ".nexus").exists()


def test_init_from_a_subdirectory_uses_the_top_level(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sub = git_repo / "src" / "deep"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    assert run_nexus("init").exit_code == 0
    assert (git_repo / ".nexus" / "config.yaml").exists()
    assert not (sub / ".nexus").exists()


def test_project_found_from_inside_a_worktree(git_repo: Path) -> None:
    worktree = git_repo / ".nexus" / "worktrees" / "feature"
    git(git_repo, "worktree", "add", "-q", "-b", "feature", str(worktree))
    (worktree / "pkg").mkdir()
    project = find_project(worktree / "pkg")
    assert project.root == git_repo.resolve()
    outside = git_repo.parent / "elsewhere-wt"
    git(git_repo, "worktree", "add", "-q", "-b", "other", str(outside))
    assert find_project(outside).root == git_repo.resolve()


def test_find_project_outside_git(tmp_path: Path) -> None:
    with pytest.raises(NotAProjectError):
        find_project(tmp_path)


def test_project_id_is_stable_and_local(git_repo: Path) -> None:
    project = find_project(git_repo)
    first = project.project_id()
    assert first == find_project(git_repo).project_id()
    assert len(first) == 8
    other = git_repo.parent / "clone"
    git(git_repo.parent, "clone", "-q", str(git_repo), str(other))
    assert find_project(other).project_id() != first


def test_a_workspace_worktree_whose_git_file_was_rewritten_still_finds_its_project(
    git_repo: Path, tmp_path: Path
) -> None:
    """A container may rewrite a worktree's `.git` file (before `repair` puts it back): the
    project is found from where the worktree lives, never from the repository it names."""
    worktree = git_repo / ".nexus" / "worktrees" / "feature"
    git(git_repo, "worktree", "add", "-q", "-b", "feature", str(worktree))
    hostile = tmp_path / "hostile"
    git(tmp_path, "init", "-q", str(hostile))
    (worktree / ".git").write_text(f"gitdir: {hostile / '.git'}\n")
    project = find_project(worktree)
    assert project.root == git_repo.resolve()
    assert project.git_common_dir == git_repo.resolve() / ".git"
