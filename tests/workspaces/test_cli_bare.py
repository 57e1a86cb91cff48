"""The workspace commands with the `bare` template: git only, no Docker engine needed."""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from nexus_cli import deadlines
from nexus_cli.errors import NexusError
from nexus_cli.paths import nexus_home
from nexus_cli.project import find_project
from nexus_cli.workspaces import creation, ports
from nexus_cli.workspaces.handle import Workspace
from tests.conftest import fold_telemetry, git, run_nexus

NO_ENGINE = {"DOCKER_HOST": "unix:///nonexistent.sock"}


def _events(home: Path) -> list[dict[str, Any]]:
    fold_telemetry()
    db = sqlite3.connect(home / "nexus-home" / "telemetry.db")
    db.row_factory = sqlite3.Row
    rows = [dict(r) for r in db.execute("SELECT * FROM events ORDER BY id")]
    db.close()
    return rows


def test_create_list_status_path_delete_without_engine(project: Path) -> None:
    created = run_nexus("workspace", "create", "feature-auth", env=NO_ENGINE)
    assert created.exit_code == 0, created.stderr
    path = project / ".nexus" / "worktrees" / "feature-auth"
    assert created.stdout.strip() == str(path)
    assert git(path, "rev-parse", "--abbrev-ref", "HEAD").strip() == "feature-auth"

    listed = run_nexus("workspace", "list", "--json", env=NO_ENGINE)
    assert listed.exit_code == 0, listed.stderr
    data = listed.json()
    assert data["engine"] == "not needed"
    (view,) = data["workspaces"]
    assert (view["name"], view["state"], view["worktree"], view["template"]) == (
        "feature-auth",
        "ready",
        "ok",
        "bare",
    )

    status = run_nexus("workspace", "status", "feature-auth", "--json", env=NO_ENGINE)
    assert status.json()["branch"] == "feature-auth"
    assert run_nexus("workspace", "path", "feature-auth").stdout.strip() == str(path)
    assert run_nexus("workspace", "ports", "feature-auth", "--json").json() == []

    deleted = run_nexus("workspace", "delete", "feature-auth", "--yes", env=NO_ENGINE)
    assert deleted.exit_code == 0, deleted.stderr
    assert not path.exists()
    assert git(project, "branch", "--list", "feature-auth").strip() == ""
    assert run_nexus("workspace", "list", "--json").json()["workspaces"] == []


def test_create_records_telemetry(project: Path, isolated_home: Path) -> None:
    assert run_nexus("workspace", "create", "w1").exit_code == 0
    event = _events(isolated_home)[-1]
    assert event["command"] == "workspace create"
    assert event["event_type"] == "workspace"
    assert event["template_used"] == "bare"
    assert event["services_count"] == 0
    assert event["workspace_hash"] and "w1" not in event["workspace_hash"]
    raw = json.loads(event["raw_data"])
    assert raw["metrics"]["worktree_creation_time_ms"] > 0


@pytest.mark.parametrize("name", ["../escape", "-rf", "Bad Name", "a/b"])
def test_invalid_names_are_usage_errors(project: Path, name: str) -> None:
    result = (
        run_nexus("workspace", "create", "--", name)
        if name.startswith("-")
        else run_nexus("workspace", "create", name)
    )
    assert result.exit_code == 2
    assert "invalid workspace name" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (project / ".nexus" / "worktrees").exists() or not any(
        (project / ".nexus" / "worktrees").iterdir()
    )


def test_duplicate_and_unknown_names(project: Path) -> None:
    assert run_nexus("workspace", "create", "dup").exit_code == 0
    again = run_nexus("workspace", "create", "dup")
    assert again.exit_code == 1 and "already exists" in again.stderr
    missing = run_nexus("workspace", "status", "nope")
    assert missing.exit_code == 1 and "no workspace named 'nope'" in missing.stderr


def test_delete_refuses_to_lose_work_without_force(project: Path) -> None:
    assert run_nexus("workspace", "create", "wip").exit_code == 0
    path = project / ".nexus" / "worktrees" / "wip"
    (path / "notes.txt").write_text("precious")
    refused = run_nexus("workspace", "delete", "wip")
    assert refused.exit_code == 1
    assert "1 uncommitted change in" in refused.stderr
    assert path.exists()
    git(path, "add", "notes.txt")
    git(path, "commit", "-qm", "notes")
    unmerged = run_nexus("workspace", "delete", "wip")
    assert unmerged.exit_code == 1 and "not merged" in unmerged.stderr
    kept = run_nexus("workspace", "delete", "wip", "--keep-branch", "-y")
    assert kept.exit_code == 0, kept.stderr
    assert git(project, "branch", "--list", "wip").strip() == "wip"


def test_force_delete_removes_unmerged_branch(project: Path) -> None:
    assert run_nexus("workspace", "create", "gone").exit_code == 0
    path = project / ".nexus" / "worktrees" / "gone"
    (path / "x.txt").write_text("x")
    git(path, "add", "x.txt")
    git(path, "commit", "-qm", "x")
    assert run_nexus("workspace", "delete", "gone", "--force").exit_code == 0
    assert git(project, "branch", "--list", "gone").strip() == ""


def test_existing_branch_and_from_ref(project: Path) -> None:
    git(project, "branch", "existing")
    assert run_nexus("workspace", "create", "existing").exit_code == 0
    head = git(project, "rev-parse", "HEAD").strip()
    assert run_nexus("workspace", "create", "fresh", "--from", head).exit_code == 0
    bad = run_nexus("workspace", "create", "broken", "--from", "no-such-ref")
    assert bad.exit_code == 2 and "'no-such-ref' does not name a commit" in bad.stderr


def test_deleted_worktree_is_broken_then_repaired(project: Path) -> None:
    assert run_nexus("workspace", "create", "fragile").exit_code == 0
    path = project / ".nexus" / "worktrees" / "fragile"
    (path / "kept.txt").write_text("committed")
    git(path, "add", "kept.txt")
    git(path, "commit", "-qm", "kept")
    shutil.rmtree(path)

    view = run_nexus("workspace", "list", "--json", env=NO_ENGINE).json()["workspaces"][0]
    assert view["state"] == "broken" and view["worktree"] == "missing"
    assert any("repair" in d for d in view["drift"])
    table = run_nexus("workspace", "list", env=NO_ENGINE)
    assert "broken" in table.stdout
    assert run_nexus("workspace", "status", "fragile", "--json").json()["state"] == "broken"

    repaired = run_nexus("workspace", "repair", "fragile", env=NO_ENGINE)
    assert repaired.exit_code == 0, repaired.stderr
    assert "uncommitted work" in repaired.stderr and "cannot be restored" in repaired.stderr
    assert (path / "kept.txt").read_text() == "committed"
    assert run_nexus("workspace", "list", "--json").json()["workspaces"][0]["state"] == "ready"


def test_repair_frees_the_ports_of_workspaces_that_no_longer_exist(
    project: Path, isolated_home: Path, tmp_path: Path
) -> None:
    """A delete run with another NEXUS_HOME (or state lost to `git clean -x`) leaves the
    workspace's ports held in this home's table, for no one; `repair` frees them, and only
    them."""
    for name in ("kept", "gone"):
        created = run_nexus("workspace", "create", name, "--host-port", "web", "--json")
        assert created.exit_code == 0, created.stderr
    kept_env = run_nexus("workspace", "env", "kept", "--json").json()
    other_home = {"NEXUS_HOME": str(tmp_path / "other-home"), **NO_ENGINE}
    assert run_nexus("workspace", "delete", "gone", "--force", env=other_home).exit_code == 0
    project_id = find_project(project).project_id()
    held = {a.workspace for a in ports.allocations_for(nexus_home(), project_id, "gone")}
    assert held == {"gone"}  # the other home freed nothing here

    only_kept = run_nexus("workspace", "repair", "kept", env=NO_ENGINE)
    assert only_kept.exit_code == 0 and "freed" not in only_kept.stderr
    repaired = run_nexus("workspace", "repair", "--json", env=NO_ENGINE)
    assert repaired.exit_code == 0, repaired.stderr
    assert {
        "name": "gone",
        "actions": ["freed 1 port held for it (the workspace no longer exists)"],
    } in (repaired.json())
    assert ports.allocations_for(nexus_home(), project_id, "gone") == []
    assert run_nexus("workspace", "env", "kept", "--json").json() == kept_env
    again = run_nexus("workspace", "repair", "--json", env=NO_ENGINE)
    assert all(entry["name"] != "gone" for entry in again.json())


def test_list_shows_worktrees_nexus_does_not_know(project: Path) -> None:
    git(
        project,
        "worktree",
        "add",
        "-q",
        "-b",
        "stray",
        str(project / ".nexus" / "worktrees" / "stray"),
    )
    view = run_nexus("workspace", "list", "--json").json()["workspaces"][0]
    assert view["name"] == "stray" and view["state"] == "untracked"
    assert "worktree without a Nexus record" in view["drift"]


def test_docker_template_without_engine_is_one_clear_line(project: Path) -> None:
    result = run_nexus("workspace", "create", "db1", "--template", "node-postgres", env=NO_ENGINE)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: Docker engine unavailable at unix:///nonexistent.sock")
    assert "DOCKER_HOST" in lines[0]
    assert lines[1].startswith("hint:") and len(lines) == 2
    assert not (project / ".nexus" / "worktrees" / "db1").exists()
    no_start = run_nexus(
        "workspace", "create", "db2", "-t", "node-postgres", "--no-start", env=NO_ENGINE
    )
    assert no_start.exit_code == 0, no_start.stderr
    listed = run_nexus("workspace", "list", env=NO_ENGINE)
    assert listed.exit_code == 0
    assert "warning: Docker engine unavailable" in listed.stderr
    assert "unknown" in listed.stdout
    up = run_nexus("workspace", "up", "db2", env=NO_ENGINE)
    assert up.exit_code == 1 and "DOCKER_HOST" in up.stderr
    assert run_nexus("workspace", "path", "db2", env=NO_ENGINE).exit_code == 0
    assert run_nexus("workspace", "repair", "db2", env=NO_ENGINE).exit_code == 0


def test_template_list_and_show(project: Path) -> None:
    listed = run_nexus("template", "list", "--json")
    names = {row["name"]: row for row in listed.json()}
    assert {"bare", "node-postgres", "python-postgres", "go-postgres"} <= set(names)
    shown = run_nexus("template", "show", "python-postgres")
    assert shown.exit_code == 0
    assert "postgres:16" in shown.stdout and "5432->5432/tcp" in shown.stdout
    data = run_nexus("template", "show", "go-postgres", "--var", "GO_VERSION=1.23", "--json").json()
    assert data["services"]["app"]["image"] == "golang:1.23"


def test_invalid_project_template_is_reported(project: Path) -> None:
    folder = project / ".nexus" / "templates"
    folder.mkdir()
    (folder / "broken.yaml").write_text("services:\n  db:\n    image: x\n    ports: [nope]\n")
    shown = run_nexus("template", "show", "broken")
    assert shown.exit_code == 1
    assert "broken.yaml: services.db.ports[0]: expected CONTAINER_PORT" in shown.stderr
    created = run_nexus("workspace", "create", "w", "-t", "broken")
    assert created.exit_code == 1 and "services.db.ports[0]" in created.stderr
    assert "INVALID" in run_nexus("template", "list").stdout
    rows = {r["name"]: r for r in run_nexus("template", "list", "--json").json()}
    assert rows["broken"]["services"] is None and "services.db.ports[0]" in rows["broken"]["error"]
    assert rows["bare"]["services"] == [] and rows["bare"]["error"] is None
    assert rows["python-postgres"]["services"] == ["db", "app"]


def test_template_files_are_written_and_never_overwrite(project: Path) -> None:
    folder = project / ".nexus" / "templates"
    folder.mkdir()
    (folder / "files.yaml").write_text(
        "x-nexus:\n  variables: {WHO: me}\n  files:\n    README.md: clobbered\n    hi.txt: 'hi ${WHO}'\n"
        "services: {}\n"
    )
    result = run_nexus("workspace", "create", "f", "-t", "files", "--var", "WHO=you", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["files_written"] == ["hi.txt"]
    path = project / ".nexus" / "worktrees" / "f"
    assert (path / "hi.txt").read_text() == "hi you"
    assert (path / "README.md").read_text() == "# test repo\n"
    assert run_nexus("workspace", "delete", "f", "--yes").exit_code == 0  # generated: not "work"


def test_list_counts_each_worktrees_uncommitted_changes(project: Path) -> None:
    """Several worktrees are asked side by side; each count lands on its own workspace."""
    names = [f"w{i}" for i in range(5)]
    for i, name in enumerate(names):
        assert run_nexus("workspace", "create", name, env=NO_ENGINE).exit_code == 0
        for j in range(i):
            (project / ".nexus" / "worktrees" / name / f"f{j}.txt").write_text("x")
    shutil.rmtree(project / ".nexus" / "worktrees" / "w4")  # not "ok": no count at all
    listed = run_nexus("workspace", "list", "--json", env=NO_ENGINE)
    assert listed.exit_code == 0, listed.stderr
    counts = {v["name"]: v["uncommitted"] for v in listed.json()["workspaces"]}
    assert counts == {"w0": 0, "w1": 1, "w2": 2, "w3": 3, "w4": None}


def test_template_show_escapes_what_the_template_says(project: Path) -> None:
    """The description, a variable's default and a hook's command are repository content: they
    reached the terminal raw (an OSC title, a clear screen, a bidi override)."""
    folder = project / ".nexus" / "templates"
    folder.mkdir(parents=True)
    (folder / "loud.yaml").write_text(
        "x-nexus:\n"
        '  description: "a\\e]0;owned\\a \\u202e b"\n'
        '  variables: {V: "\\e[2J"}\n'
        '  hooks:\n    post_create: [{service: app, command: "make\\e]0;t\\a"}]\n'
        'services:\n  app: {image: "img\\e[31m"}\n'
    )
    shown = run_nexus("template", "show", "loud")
    assert shown.exit_code == 0, shown.stderr
    assert not any(ch in shown.stdout for ch in "\x1b\x07\u202e")
    assert "a^[]0;owned^G \\u202e b" in shown.stdout
    assert "variable V = ^[[2J" in shown.stdout
    assert "post_create hook in app: make^[]0;t^G" in shown.stdout


def test_git_makes_the_worktree_under_the_create_s_deadline(project: Path) -> None:
    """git makes the worktree in a thread of its own (while the engine is reached); that thread
    runs under the create's deadline (and cancellation): a checkout that hangs (here the
    repository's own smudge filter) is ended and the create undone, not waited for."""
    (project / ".gitattributes").write_text("*.slow filter=slow\n")
    (project / "a.slow").write_text("data\n")
    git(project, "add", ".")
    git(project, "commit", "-qm", "a file through a filter")
    git(project, "config", "filter.slow.smudge", "sleep 120; cat")
    started = time.monotonic()
    with deadlines.deadline_after(5), pytest.raises(NexusError) as caught:
        creation.create(Workspace(find_project(project), "slow"))
    assert time.monotonic() - started < 60
    assert "git worktree did not finish before the deadline" in caught.value.message
    assert not (project / ".nexus" / "worktrees" / "slow").exists()
    assert git(project, "branch", "--list", "slow") == ""
    assert run_nexus("workspace", "list", "--json").json()["workspaces"] == []
