"""Issue 10, workspaces: what is read (argv, state files, committed content) is untrusted.

Real git repositories, no Docker (see test_trust_boundary_docker.py for the container side).
"""

from __future__ import annotations

import json
import os
import subprocess
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


# --- a worktree's .git file rewritten to a hostile git dir (issue 25, cause 2) ------------------


def _hostile_git_dir(worktree: Path, marker: Path) -> Path:
    """What a container that can write the worktree makes: a git dir of its own (objects and
    HEAD copied from the real one, so that git would happily use it) whose config sets
    ``core.fsmonitor`` to a script that writes ``marker``, and the worktree's ``.git`` file
    pointed at it. Returns the original ``.git`` text."""
    original = (worktree / ".git").read_text()
    evil = worktree / ".evil"
    run_git(worktree, "init", "-q", "--bare", str(evil))
    script = worktree / "fsmonitor.sh"
    script.write_text(f"#!/bin/sh\necho ran >> {marker}\n")
    script.chmod(0o755)
    real = Path(original.split(":", 1)[1].strip())
    (evil / "objects" / "info" / "alternates").write_text(
        str((real / (real / "commondir").read_text().strip() / "objects").resolve()) + "\n"
    )
    (evil / "HEAD").write_text((real / "HEAD").read_text())
    run_git(evil, "config", "core.bare", "false")
    run_git(evil, "config", "core.fsmonitor", str(script))
    (worktree / ".git").write_text(f"gitdir: {evil}\n")
    return original


def test_hostile_git_pointer_is_never_followed_and_repair_restores_it(
    project: Path, tmp_path: Path
) -> None:
    assert run_nexus("workspace", "create", "w").exit_code == 0
    worktree = project / ".nexus" / "worktrees" / "w"
    marker = tmp_path / "fsmonitor-ran"
    original = _hostile_git_dir(worktree, marker)
    subprocess.run(["git", "status"], cwd=worktree, capture_output=True, check=False)
    assert marker.exists(), "the attack works against a plain `git status`"
    marker.unlink()

    listed = run_nexus("workspace", "list", "--json")
    assert listed.exit_code == 0, listed.stderr
    assert not marker.exists(), "`workspace list` ran the container's core.fsmonitor"
    (view,) = listed.json()["workspaces"]
    assert (view["worktree"], view["state"], view["uncommitted"]) == ("tampered", "broken", None)
    assert any("no longer points at this repository's git dir" in d for d in view["drift"])
    status = run_nexus("workspace", "status", "w")
    assert status.exit_code == 0, status.stderr
    assert "tampered" in status.stdout + status.stderr
    deleted = run_nexus("workspace", "delete", "w", "--yes")
    assert deleted.exit_code != 0
    assert "no longer points at" in deleted.stderr and "nexus workspace repair" in deleted.stderr
    up = run_nexus("workspace", "up", "w")
    assert up.exit_code != 0 and "nexus workspace repair w" in up.stderr
    assert not marker.exists()

    repaired = run_nexus("workspace", "repair", "w")
    assert repaired.exit_code == 0, repaired.stderr
    assert "restored the worktree's .git file" in repaired.stdout + repaired.stderr
    assert (worktree / ".git").read_text() == original
    after = run_nexus("workspace", "status", "w", "--json").json()
    assert (after["worktree"], after["state"]) == ("ok", "ready")
    assert not marker.exists()


@pytest.mark.parametrize("kind", ["symlink", "folder"])
def test_a_git_pointer_replaced_by_a_link_or_folder_is_tampered(project: Path, kind: str) -> None:
    assert run_nexus("workspace", "create", "w").exit_code == 0
    worktree = project / ".nexus" / "worktrees" / "w"
    original = (worktree / ".git").read_text()
    (worktree / ".git").unlink()
    if kind == "symlink":
        (worktree / "elsewhere").write_text(original)
        os.symlink("elsewhere", worktree / ".git")
    else:
        run_git(worktree, "init", "-q", "--bare", str(worktree / ".git"))
    view = run_nexus("workspace", "status", "w", "--json").json()
    assert view["worktree"] == "tampered"
    assert run_nexus("workspace", "repair", "w").exit_code == 0
    assert (worktree / ".git").read_text() == original
    assert (worktree / ".git.tampered-1").exists()  # kept for a look, not deleted


def test_pointer_guards_cover_every_bind_that_shows_the_git_file(tmp_path: Path) -> None:
    from nexus_cli.workspaces.docker_services import Bind, pointer_guards

    worktree = tmp_path / "wt"
    (worktree / "sub").mkdir(parents=True)
    (worktree / ".git").write_text("gitdir: /x\n")
    os.symlink(".", worktree / "here")
    os.symlink(".git", worktree / "pointer")
    dotgit = str(worktree / ".git")
    binds = [
        Bind(str(worktree), "/workspace", False),
        Bind(dotgit, "/workspace/.git", True),  # what git_mounts adds
        Bind(str(worktree / "here"), "/a", False),
        Bind(str(tmp_path), "/up", False),  # a folder above the worktree
        Bind(str(worktree / "pointer"), "/p", False),
        Bind(str(worktree / "sub"), "/s", False),  # does not show .git
        Bind(str(worktree), "/r", True),  # read-only already
    ]
    guarded = pointer_guards(worktree, binds)
    assert Bind(str(worktree / "pointer"), "/p", True) in guarded
    extra = {b.target: b for b in guarded[len(binds) :]}
    assert set(extra) == {"/a/.git", "/up/wt/.git"}
    assert all(b.source == dotgit and b.read_only for b in extra.values())
    assert [b.target for b in guarded].count("/workspace/.git") == 1


@pytest.mark.parametrize("linked", ["file", "folder"])
def test_a_committed_template_link_out_of_the_project_is_never_read(
    project: Path, tmp_path: Path, linked: str
) -> None:
    """``.nexus/templates/x.yaml -> ~/secret.yaml`` read the outside file and printed its keys
    in the error (``db_password: unsupported top-level key``)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.yaml").write_text("db_password: hunter2\nservices:\n  app: {image: x}\n")
    folder = project / ".nexus" / "templates"
    if linked == "file":
        folder.mkdir(parents=True)
        (folder / "x.yaml").symlink_to(outside / "x.yaml")
    else:
        folder.symlink_to(outside)
    shown = run_nexus("template", "show", "x")
    assert shown.exit_code == 1 and "resolves outside" in shown.stderr
    assert "db_password" not in shown.stderr
    listed = run_nexus("template", "list")
    assert "resolves outside" in listed.stdout and "db_password" not in listed.stdout
    created = run_nexus("workspace", "create", "w", "-t", "x")
    assert created.exit_code == 1 and "resolves outside" in created.stderr
    assert run_nexus("workspace", "list", "--json").json()["workspaces"] == []
