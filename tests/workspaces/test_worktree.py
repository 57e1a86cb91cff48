"""The worktree folder of a workspace name, refused when a link leads it out of the project."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nexus_cli.errors import StateError
from nexus_cli.project import find_project
from nexus_cli.workspaces.worktree import checked


def test_the_worktree_is_in_the_worktrees_folder_whether_or_not_it_exists(git_repo: Path) -> None:
    project = find_project(git_repo)
    assert checked(project, "feat") == git_repo / ".nexus" / "worktrees" / "feat"
    assert not checked(project, "feat").exists()


@pytest.mark.parametrize("target", ["outside", "inside"])
def test_a_worktree_that_is_a_link_is_refused_naming_where_the_name_came_from(
    git_repo: Path, tmp_path: Path, target: str
) -> None:
    worktrees = git_repo / ".nexus" / "worktrees"
    worktrees.mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere" if target == "outside" else worktrees / "real"
    elsewhere.mkdir()
    os.symlink(elsewhere, worktrees / "feat")
    with pytest.raises(StateError, match="symbolic link or lies outside") as refused:
        checked(find_project(git_repo), "feat", "task nx-abcd")
    assert refused.value.message.startswith("workspace of task nx-abcd: ")
    assert refused.value.hint is not None and "remove the link" in refused.value.hint


def test_a_worktrees_folder_that_leads_out_of_the_project_is_refused(
    git_repo: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    (outside / "feat").mkdir(parents=True)
    (git_repo / ".nexus").mkdir(exist_ok=True)
    os.symlink(outside, git_repo / ".nexus" / "worktrees")
    with pytest.raises(StateError) as refused:
        checked(find_project(git_repo), "feat")
    assert refused.value.message.startswith(str(git_repo / ".nexus" / "worktrees" / "feat"))
