"""Issue 10, workspaces: what is read (argv, state files, committed content) is untrusted.

Real git repositories, no Docker (see test_trust_boundary_docker.py for the container side).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from nexus_cli import git
from nexus_cli.errors import UsageError
from tests.conftest import git as run_git
from tests.conftest import run_nexus


def _commit_symlink(repo: Path, name: str, target: str) -> None:
    os.symlink(target, repo / name)
    run_git(repo, "add", name)
    run_git(repo, "commit", "-qm", f"add {name}")


def _files_template(repo: Path, files: dict[str, str]) -> Path:
    path = repo / ".nexus" / "templates" / "writer.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"x-nexus": {"files": files}}))  # JSON is YAML
    return path


# --- option injection and first commit ---------------------------------------------------------


def test_from_option_is_never_passed_to_git_as_an_option(project: Path) -> None:
    result = run_nexus("workspace", "create", "x", "--from=--lock")
    assert result.exit_code == 2, result.stderr
    assert "'--lock' does not name a commit" in result.stderr
    assert "locked" not in run_git(project, "worktree", "list", "--porcelain")
    assert run_git(project, "branch", "--list", "x") == ""
    assert not (project / ".nexus" / "worktrees" / "x").exists()
    # and the failed create left nothing behind: the same name works right after
    assert run_nexus("workspace", "create", "x").exit_code == 0
    assert "locked" not in run_git(project, "worktree", "list", "--porcelain")


def test_branch_names_go_through_check_ref_format(git_repo: Path) -> None:
    assert git.check_branch_name(git_repo, "feature-x") == "feature-x"
    for bad in ("--lock", "a..b", "x.lock", "a b"):
        with pytest.raises(UsageError):
            git.check_branch_name(git_repo, bad)


def test_repository_without_a_commit_says_how_to_make_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "empty"
    repo.mkdir()
    run_git(repo, "init", "-q")
    monkeypatch.chdir(repo)
    assert run_nexus("init").exit_code == 0
    result = run_nexus("workspace", "create", "first")
    assert result.exit_code == 1
    assert "this repository has no commit yet: make one first" in result.stderr
    assert "git commit --allow-empty -m init" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (repo / ".nexus" / "worktrees" / "first").exists()


# --- symlinks in committed content -------------------------------------------------------------


def test_files_entry_never_writes_through_a_committed_symlink_folder(
    project: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    _commit_symlink(project, "out", str(outside))
    template = _files_template(project, {"out/planted.sh": "echo pwned\n"})
    result = run_nexus("workspace", "create", "w", "-t", "writer")
    assert result.exit_code == 1
    assert f"{template}: x-nexus.files.out/planted.sh" in result.stderr
    assert "resolves outside" in result.stderr
    assert list(outside.iterdir()) == []
    assert not (project / ".nexus" / "worktrees" / "w").exists()  # rolled back


def test_files_entry_that_is_a_committed_symlink_to_a_file_is_refused(
    project: Path, tmp_path: Path
) -> None:
    victim = tmp_path / "victim.txt"
    _commit_symlink(project, "config.env", str(victim))
    _files_template(project, {"config.env": "SECRET=1\n"})
    result = run_nexus("workspace", "create", "w", "-t", "writer")
    assert result.exit_code == 1
    assert "x-nexus.files.config.env" in result.stderr
    assert not victim.exists()


def test_files_entry_through_a_link_inside_the_worktree_is_refused(project: Path) -> None:
    """Rule 1 (docs/security.md): a link anywhere on the way is refused, even one that stays
    inside the worktree; the create is rolled back."""
    _commit_symlink(project, "conf", "sub")
    (project / "sub").mkdir()
    (project / "sub" / "keep").write_text("")
    run_git(project, "add", "sub")
    run_git(project, "commit", "-qm", "sub")
    _files_template(project, {"conf/app.env": "A=1\n"})
    result = run_nexus("workspace", "create", "w", "-t", "writer")
    assert result.exit_code == 1, result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: ") and first.endswith(
        "/w/conf is a symbolic link; "
        f"Nexus does not follow links under {project / '.nexus' / 'worktrees' / 'w'}"
    )
    assert not (project / ".nexus" / "worktrees" / "w").exists()
    assert not (project / "sub" / "app.env").exists()


def test_files_entry_in_a_real_folder_is_written(project: Path) -> None:
    _files_template(project, {"conf/app.env": "A=1\n"})
    result = run_nexus("workspace", "create", "w", "-t", "writer")
    assert result.exit_code == 0, result.stderr
    assert (project / ".nexus" / "worktrees" / "w" / "conf" / "app.env").read_text() == "A=1\n"


# --- names read back from state ----------------------------------------------------------------


def test_record_named_with_dots_cannot_make_delete_remove_a_folder_outside(
    project: Path,
) -> None:
    sibling = project.parent / "x"  # <root>/.nexus/worktrees/../../../x
    sibling.mkdir()
    (sibling / "precious.txt").write_text("keep me")
    state = project / ".nexus" / "state"
    state.mkdir(parents=True, exist_ok=True)
    row = {"name": "../../../x", "template": "bare", "branch": "../../../x"}
    (state / "workspaces.json").write_text(json.dumps({"version": 1, "workspaces": [row]}))
    for args in (("delete", "../../../x", "--force"), ("list",), ("delete", "x", "--force")):
        result = run_nexus("workspace", *args)
        assert result.exit_code != 0, args
        assert "Traceback" not in result.stderr
    result = run_nexus("workspace", "list")
    assert "workspaces.json: invalid workspace name '../../../x'" in result.stderr
    assert (sibling / "precious.txt").read_text() == "keep me"


def test_generated_file_paths_in_records_are_checked(project: Path) -> None:
    state = project / ".nexus" / "state"
    state.mkdir(parents=True, exist_ok=True)
    row = {
        "name": "w",
        "template": "bare",
        "branch": "w",
        "generated_files": {"../../../../etc/passwd": "0" * 64},
    }
    (state / "workspaces.json").write_text(json.dumps({"version": 1, "workspaces": [row]}))
    result = run_nexus("workspace", "delete", "w", "--force")
    assert result.exit_code == 1
    assert "is not a relative path inside the worktree" in result.stderr


@pytest.mark.parametrize("content", ["", "\n", "../../x", "zz-not-hex", "a" * 40])
def test_corrupt_project_id_is_an_error_never_replaced(project: Path, content: str) -> None:
    path = project / ".nexus" / "state" / "project-id"
    path.write_text(content)
    result = run_nexus("workspace", "create", "w")
    assert result.exit_code == 1
    assert "project-id: invalid project id" in result.stderr
    assert "Traceback" not in result.stderr
    assert path.read_text() == content  # never silently replaced
    assert not (project / ".nexus" / "worktrees" / "w").exists()


def test_adopt_project_id_repairs_the_file(project: Path) -> None:
    path = project / ".nexus" / "state" / "project-id"
    path.write_text("")
    bad = run_nexus("workspace", "repair", "--adopt-project-id", "../x")
    assert bad.exit_code == 2
    result = run_nexus("workspace", "repair", "--adopt-project-id", "abcd1234")
    assert result.exit_code == 0, result.stderr
    assert path.read_text() == "abcd1234\n"
    again = run_nexus("workspace", "repair", "--adopt-project-id", "ffff0000")
    assert again.exit_code != 0 and "already holds the valid id abcd1234" in again.stderr


def test_missing_project_id_without_containers_is_created_once(project: Path) -> None:
    path = project / ".nexus" / "state" / "project-id"
    path.unlink()
    assert run_nexus("workspace", "create", "w").exit_code == 0
    first = path.read_text()
    assert run_nexus("workspace", "list").exit_code == 0
    assert path.read_text() == first
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".project-id")] == []


def test_template_name_cannot_climb_out_of_the_template_folders(project: Path) -> None:
    result = run_nexus("workspace", "create", "w", "-t", "../../../etc/x")
    assert result.exit_code == 2
    assert "invalid template name" in result.stderr


def test_worktree_folder_that_is_a_link_outside_is_never_deleted(
    project: Path, tmp_path: Path
) -> None:
    assert run_nexus("workspace", "create", "w").exit_code == 0
    worktree = project / ".nexus" / "worktrees" / "w"
    run_git(project, "worktree", "remove", "--force", str(worktree))
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me")
    worktree.symlink_to(outside)
    result = run_nexus("workspace", "delete", "w", "--force")
    assert result.exit_code == 1
    assert "is a symbolic link or lies outside the project" in result.stderr
    assert (outside / "precious.txt").read_text() == "keep me"


def test_list_skips_foreign_folder_names_and_flags_linked_worktrees(
    project: Path, tmp_path: Path
) -> None:
    assert run_nexus("workspace", "create", "w").exit_code == 0
    foreign = project / ".nexus" / "worktrees" / "Bad Name"
    run_git(project, "worktree", "add", "-q", "--detach", str(foreign))
    worktree = project / ".nexus" / "worktrees" / "w"
    run_git(project, "worktree", "remove", "--force", str(worktree))
    worktree.symlink_to(tmp_path)
    result = run_nexus("workspace", "list", "--json")
    assert result.exit_code == 0, result.stderr
    views = {v["name"]: v for v in result.json()["workspaces"]}
    assert set(views) == {"w"}
    assert views["w"]["worktree"] == "unsafe"


@pytest.mark.parametrize("rel", [".GIT/hooks/post-checkout", "sub/.git/config", "a\\b", ".git."])
def test_files_entries_into_git_folders_are_refused(project: Path, rel: str) -> None:
    template = _files_template(project, {rel: "x"})
    result = run_nexus("template", "show", "writer")
    assert result.exit_code == 1
    assert f"{template}: x-nexus.files.{rel}" in result.stderr
