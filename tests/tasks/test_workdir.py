"""Where a task's host gates run: its workspace's worktree, the one the command runs in, or the
project root; a workspace name from a task or a folder is validated and may not lead out."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexus_cli.errors import NexusError
from nexus_cli.project import find_project
from nexus_cli.tasks.model import Task
from nexus_cli.tasks.workdir import gate_directory


def test_gate_directory(tasks_project: Path, tmp_path: Path) -> None:
    project = find_project()
    assert gate_directory(project, Task("nx-abcd", "t")) == project.root
    assert gate_directory(project, Task("nx-abcd", "t", workspace="nows")) == project.root
    worktree = project.worktrees_dir / "feat"
    worktree.mkdir(parents=True)
    assert gate_directory(project, Task("nx-abcd", "t", workspace="feat")) == worktree
    with pytest.raises(NexusError) as bad:
        gate_directory(project, Task("nx-abcd", "t", workspace="no good"))
    assert bad.value.message.startswith("task nx-abcd: invalid workspace name")
    (project.worktrees_dir / "evil").symlink_to(tmp_path)
    with pytest.raises(NexusError) as evil:
        gate_directory(project, Task("nx-abcd", "t", workspace="evil"))
    assert evil.value.message.startswith("workspace of task nx-abcd: ")


def test_gate_directory_is_the_workspace_the_command_runs_in(tasks_project: Path) -> None:
    """After `cd "$(nexus workspace path feat)"`, a task with no workspace of its own is
    verified where its code was written: in that worktree, from any folder below it."""
    root = find_project()
    feat, other = root.worktrees_dir / "feat", root.worktrees_dir / "other"
    (feat / "src").mkdir(parents=True)
    other.mkdir()
    here = find_project(feat / "src")
    assert here.root == root.root and here.here == (feat / "src").resolve()
    assert gate_directory(here, Task("nx-abcd", "t")) == feat
    assert gate_directory(here, Task("nx-abcd", "t", workspace="other")) == other  # its own wins
    assert gate_directory(root, Task("nx-abcd", "t")) == root.root
