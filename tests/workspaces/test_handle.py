from __future__ import annotations

import os
from pathlib import Path

import pytest

from nexus_cli.errors import StateError, UsageError
from nexus_cli.project import Project, find_project
from nexus_cli.workspaces.handle import Workspace, workdir_of


def _project(tmp_path: Path, project_id: str = "ab12cd34") -> Project:
    """A project whose id file already exists (the handle reads it, never Docker)."""
    state = tmp_path / ".nexus" / "state"
    state.mkdir(parents=True)
    (state / "project-id").write_text(project_id + "\n")
    return Project(tmp_path, tmp_path / ".git")


@pytest.mark.parametrize("name", ["feature-auth", "bugfix_login", "v1.2", "a", "x" * 63, "9lives"])
def test_valid_names(name: str, tmp_path: Path) -> None:
    assert Workspace(Project(tmp_path, tmp_path / ".git"), name).name == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "-rm",
        "a/b",
        "../x",
        "a..b",
        "Feature",
        "a b",
        "tab\tname",
        "x" * 64,
        "end.",
        "a.lock",
        "ü",
    ],
)
def test_invalid_names_are_usage_errors(name: str, tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        Workspace(Project(tmp_path, tmp_path / ".git"), name)
    assert "invalid workspace name" in info.value.message
    assert info.value.hint is not None


def test_docker_names_use_project_id_not_folder(tmp_path: Path) -> None:
    ws = Workspace(_project(tmp_path), "dev")
    assert ws.container_name("db") == "nexus-ab12cd34-dev-db"
    assert ws.network_name == "nexus-ab12cd34-dev"
    assert ws.volume_name("data") == "nexus-ab12cd34-dev-data"
    assert ws.label_filters("db") == [
        "dev.nexus.project=ab12cd34",
        "dev.nexus.workspace=dev",
        "dev.nexus.service=db",
    ]
    assert ws.labels("db") == {
        "dev.nexus.project": "ab12cd34",
        "dev.nexus.workspace": "dev",
        "dev.nexus.managed": "true",
        "dev.nexus.service": "db",
    }


def test_project_id_is_read_once_per_project(tmp_path: Path) -> None:
    project = _project(tmp_path)
    first = Workspace(project, "a")
    assert first.project_id == "ab12cd34"
    (tmp_path / ".nexus" / "state" / "project-id").write_text("ffffffff\n")
    assert first.project_id == "ab12cd34"
    assert Workspace(project, "b").project_id == "ab12cd34"  # the same Project: not read again
    assert Workspace(Project(tmp_path, tmp_path / ".git"), "c").project_id == "ffffffff"


def test_worktree_is_under_the_worktrees_folder(git_repo: Path) -> None:
    ws = Workspace(find_project(git_repo), "feat")
    assert ws.worktree == git_repo / ".nexus" / "worktrees" / "feat"
    assert ws.branch == "feat"
    assert ws.existing_worktree() is None


@pytest.mark.parametrize("target", ["outside", "inside"])
def test_a_linked_worktree_is_refused(git_repo: Path, tmp_path: Path, target: str) -> None:
    worktrees = git_repo / ".nexus" / "worktrees"
    worktrees.mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere" if target == "outside" else worktrees / "real"
    elsewhere.mkdir()
    os.symlink(elsewhere, worktrees / "feat")
    with pytest.raises(StateError, match="symbolic link or lies outside"):
        _ = Workspace(find_project(git_repo), "feat").worktree


def test_a_linked_worktrees_folder_that_leaves_the_project_is_refused(
    git_repo: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (git_repo / ".nexus").mkdir(exist_ok=True)
    os.symlink(outside, git_repo / ".nexus" / "worktrees")
    with pytest.raises(StateError):
        Workspace(find_project(git_repo), "feat").existing_worktree()


def test_name_at_finds_the_worktree_a_folder_is_in(git_repo: Path) -> None:
    from nexus_cli.workspaces.handle import name_at

    project = find_project(git_repo)
    inside = Workspace(project, "feat").worktree_unchecked / "src" / "pkg"
    inside.mkdir(parents=True)
    assert name_at(project, inside) == "feat"
    assert name_at(project, git_repo) is None
    assert name_at(project, project.worktrees_dir) is None


class _Container:
    def __init__(self, labels: dict[str, str] | None) -> None:
        self.attrs = {"Config": {"Labels": labels}}


@pytest.mark.parametrize(
    ("labels", "where"),
    [
        (None, "/workspace"),  # a container made before the label
        ({"dev.nexus.workdir": "/workspaces/shop"}, "/workspaces/shop"),
        ({"dev.nexus.workdir": "relative"}, "/workspace"),
        ({"dev.nexus.workdir": "/a\0b"}, "/workspace"),
    ],
)
def test_commands_run_where_the_service_says(labels: dict[str, str] | None, where: str) -> None:
    assert workdir_of(_Container(labels)) == where
