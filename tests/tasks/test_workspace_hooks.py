"""Hooks around workspaces on real processes, git and the Docker engine: the user's run, the
project's (host hooks in .nexus/config.yaml, container hooks of .nexus/templates/) wait for a
person's approval of that exact command, and a failing hook stops the step it guards with nothing
left behind."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nexus_cli import paths
from nexus_cli.errors import ConfigError, UsageError
from nexus_cli.project import find_project
from nexus_cli.tasks import workspace_hooks
from nexus_cli.workspaces.templates import load_template
from tests.conftest import git, run_nexus, run_process
from tests.workspaces.conftest import (
    cleanup_docker,  # noqa: F401 (a fixture)
    file_in_service,
)


def user_config(isolated_home: Path, text: str) -> None:
    path = workspace_hooks.user_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def project_config(project: Path, text: str) -> None:
    (project / ".nexus" / "config.yaml").write_text(text)


def nothing_made(project: Path, name: str) -> None:
    assert not (project / ".nexus" / "worktrees" / name).exists()
    assert git(project, "branch", "--list", name) == ""
    assert run_nexus("workspace", "list", "--json").json()["workspaces"] == []


def test_the_users_hooks_run_in_order_with_the_workspace_environment(
    project: Path, isolated_home: Path, tmp_path: Path
) -> None:
    log = tmp_path / "log"
    user_config(
        isolated_home,
        "workspaces:\n  hooks:\n"
        f"    pre_create: 'echo \"pre $NEXUS_WORKSPACE $(pwd)\" >> {log}'\n"
        f"    post_create: ['echo \"post $NEXUS_BRANCH $PORT $(pwd)\" >> {log}']\n"
        f'    pre_delete: \'test -d "$NEXUS_WORKTREE" && echo "del $NEXUS_WORKSPACE" >> {log}\'\n',
    )
    created = run_nexus("workspace", "create", "hk", "--host-port", "web", "--json")
    assert created.exit_code == 0, created.stderr
    port = created.json()["host_ports"]["web"]
    tree = project / ".nexus" / "worktrees" / "hk"
    assert log.read_text().splitlines() == [f"pre hk {project}", f"post hk {port} {tree}"]
    assert run_nexus("workspace", "delete", "hk", "--yes").exit_code == 0
    assert log.read_text().splitlines()[-1] == "del hk"


def test_a_project_hook_waits_for_a_person_then_runs(project: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    project_config(project, f"workspaces:\n  hooks:\n    post_create: 'touch {marker}'\n")
    waiting = run_nexus("workspace", "create", "hk")
    assert waiting.exit_code == 5
    assert waiting.stderr.splitlines()[0] == (
        f"error: the project's post_create hook `touch {marker}` waits for a person's approval"
    )
    assert "nexus workspace hooks --approve" in waiting.stderr
    nothing_made(project, "hk")
    assert not marker.exists()
    listed = run_nexus("workspace", "hooks", "--json").json()
    assert listed == [
        {
            "event": "post_create",
            "command": f"touch {marker}",
            "origin": "project",
            "approved": False,
            "how": None,
        }
    ]
    questions: list[str] = []
    approved = workspace_hooks.approve(
        find_project(project), ask=lambda q: questions.append(q) or True
    )
    assert [h.command for h in approved] == [f"touch {marker}"]
    assert f"post_create: touch {marker}" in questions[0]
    assert run_nexus("workspace", "create", "hk").exit_code == 0
    assert marker.exists()
    # A changed command waits again; the approval was for that exact command.
    project_config(project, f"workspaces:\n  hooks:\n    post_create: 'touch {marker}; id'\n")
    assert run_nexus("workspace", "create", "hk2").exit_code == 5


def test_without_a_terminal_hooks_are_not_approved_and_the_words_are_the_hooks(
    project: Path,
) -> None:
    project_config(project, "workspaces:\n  hooks:\n    pre_delete: 'echo x'\n")
    done = run_process("workspace", "hooks", "--approve", input="y\n", new_session=True)
    assert done.returncode == 4, done.stderr
    assert "approving workspace hooks needs a person at a terminal" in done.stderr
    assert (
        "run `nexus workspace hooks --approve` yourself" in done.stderr
        and "gate" not in done.stderr
    )
    assert run_nexus("workspace", "hooks", "--json").json()[0]["approved"] is False


def test_an_approved_command_moved_to_another_event_waits_again(
    project: Path, tmp_path: Path
) -> None:
    """The event decides where a hook runs (pre_create: the project's top folder; pre_delete:
    the worktree), so approving `rm -rf .` before a delete must not approve it before a create."""
    marker = tmp_path / "ran"
    command = f"touch {marker}"
    project_config(project, f"workspaces:\n  hooks:\n    pre_delete: '{command}'\n")
    workspace_hooks.approve(find_project(project), ask=lambda q: True)
    project_config(project, f"workspaces:\n  hooks:\n    pre_create: '{command}'\n")
    waiting = run_nexus("workspace", "create", "hk")
    assert waiting.exit_code == 5, waiting.stderr
    assert "pre_create hook" in waiting.stderr and "waits for a person's approval" in waiting.stderr
    assert not marker.exists()
    nothing_made(project, "hk")
    # one byte changed waits too
    project_config(project, f"workspaces:\n  hooks:\n    pre_delete: '{command} '\n")
    assert run_nexus("workspace", "hooks", "--json").json()[0]["approved"] is False


def test_a_refused_approval_changes_nothing(project: Path) -> None:
    project_config(project, "workspaces:\n  hooks:\n    pre_create: 'true'\n")
    with pytest.raises(UsageError, match="not approved"):
        workspace_hooks.approve(find_project(project), ask=lambda q: False)
    assert run_nexus("workspace", "hooks", "--json").json()[0]["approved"] is False


@pytest.mark.parametrize("event", ["pre_create", "post_create"])
def test_a_failing_create_hook_leaves_nothing(
    project: Path, isolated_home: Path, event: str
) -> None:
    user_config(isolated_home, f"workspaces:\n  hooks:\n    {event}: 'echo broken; exit 7'\n")
    result = run_nexus("workspace", "create", "hk")
    assert result.exit_code != 0
    assert result.stderr.splitlines()[0] == (
        f"error: {event} hook `echo broken; exit 7` (user) exited with 7"
    )
    assert "broken" in result.stderr
    nothing_made(project, "hk")
    user_config(isolated_home, "")
    assert run_nexus("workspace", "create", "hk").exit_code == 0  # a retry works


def test_a_failing_pre_delete_hook_deletes_nothing(project: Path, isolated_home: Path) -> None:
    assert run_nexus("workspace", "create", "hk").exit_code == 0
    user_config(isolated_home, "workspaces:\n  hooks:\n    pre_delete: 'exit 1'\n")
    result = run_nexus("workspace", "delete", "hk", "--yes")
    assert result.exit_code != 0 and "pre_delete hook `exit 1`" in result.stderr
    assert (project / ".nexus" / "worktrees" / "hk").is_dir()
    assert git(project, "branch", "--list", "hk").strip()


def test_a_project_pre_delete_hook_waiting_for_approval_holds_the_delete_not_the_create(
    project: Path, tmp_path: Path
) -> None:
    """Each command asks only about the hooks it may run: a create runs no pre_delete hook."""
    marker = tmp_path / "deleted"
    project_config(project, f"workspaces:\n  hooks:\n    pre_delete: 'touch {marker}'\n")
    assert run_nexus("workspace", "create", "hk").exit_code == 0
    held = run_nexus("workspace", "delete", "hk", "--yes")
    assert held.exit_code == 5, held.stderr
    assert "pre_delete hook" in held.stderr and "waits for a person's approval" in held.stderr
    assert (project / ".nexus" / "worktrees" / "hk").is_dir() and not marker.exists()
    workspace_hooks.approve(find_project(project), ask=lambda q: True)
    assert run_nexus("workspace", "delete", "hk", "--yes").exit_code == 0
    assert marker.exists()
    nothing_made(project, "hk")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("workspaces:\n  hooks:\n    post_start: 'x'\n", "workspaces.hooks.post_start"),
        ("workspaces:\n  hooks:\n    pre_create: [1]\n", "workspaces.hooks.pre_create"),
        ("workspaces:\n  hooks: [a]\n", "workspaces.hooks"),
        ("workspaces: 3\n", "workspaces"),
    ],
)
def test_malformed_hooks_name_the_key(project: Path, text: str, key: str) -> None:
    project_config(project, text)
    with pytest.raises(ConfigError, match=key):
        workspace_hooks.configured(find_project(project))


# --- container hooks of a template (x-nexus.hooks), on the real engine ---------------------------

HOOKED = """\
x-nexus:
  hooks:
    post_create: [{{service: app, command: "echo created >> /tmp/hooks"}}]
    post_start: [{{service: app, command: "echo {start}-${{NEXUS_WORKSPACE}} >> /tmp/hooks"}}]
services:
  app:
    image: {image}
    command: [sleep, "600"]
"""
WAITING = (
    "error: the project's template 'hooked': its post_create hook `echo created >> /tmp/hooks` "
    "in app waits for a person's approval (1 more too)"
)


def hooked_template(folder: Path, image: str, start: str = "started") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hooked.yaml").write_text(HOOKED.format(image=image, start=start))


def nothing_in_docker(docker_client: Any, project: Path) -> None:
    label = {"label": [f"dev.nexus.project={find_project(project).project_id()}"]}
    assert docker_client.containers.list(all=True, filters=label) == []
    assert docker_client.networks.list(filters=label) == []
    assert docker_client.volumes.list(filters=label) == []


@pytest.fixture
def hooked_project(project: Path, test_image: str, cleanup_docker: list[str]) -> Path:  # noqa: F811
    """A project whose own template `hooked` has container hooks nobody approved yet."""
    hooked_template(project / ".nexus" / "templates", test_image)
    cleanup_docker.append(find_project(project).project_id())
    return project


@pytest.mark.docker
def test_a_repository_templates_container_hooks_wait_for_a_person(
    hooked_project: Path, docker_client: Any, test_image: str
) -> None:
    for args in (["c1"], ["c1", "--json"], ["c1", "c2"]):  # one, --json, a batch
        waiting = run_nexus("workspace", "create", *args, "-t", "hooked")
        assert waiting.exit_code == 5, waiting.stderr
        lines = waiting.stderr.splitlines()
        if "c2" in args:  # a batch: one line per workspace, each ending as one create's
            assert all(line.endswith(WAITING.removeprefix("error:")) for line in lines[:2])
        else:
            assert lines[0] == WAITING
        assert "nexus workspace hooks --approve --template hooked" in waiting.stderr
        nothing_made(hooked_project, "c1")
        nothing_made(hooked_project, "c2")
        nothing_in_docker(docker_client, hooked_project)
    listed = run_nexus("workspace", "hooks", "--json").json()
    assert [(h["event"], h["command"], h["approved"]) for h in listed] == [
        ("post_create", "echo created >> /tmp/hooks", False),
        ("post_start", "echo started-${NEXUS_WORKSPACE} >> /tmp/hooks", False),
    ]
    assert {(h["template"], h["service"], h["origin"]) for h in listed} == {
        ("hooked", "app", "project")
    }
    from jsonschema import Draft202012Validator

    schema = Path(__file__).parents[2] / "docs" / "schemas" / "v1" / "workspace-hooks.schema.json"
    assert list(Draft202012Validator(json.loads(schema.read_text())).iter_errors(listed)) == []
    questions: list[str] = []
    approved = workspace_hooks.approve_containers(
        find_project(hooked_project), ask=lambda q: questions.append(q) or True
    )
    assert len(approved) == 2
    assert "hooked post_create in app: echo created >> /tmp/hooks" in questions[0]
    # One approval serves every workspace: its own name is filled in when the hook runs.
    for name in ("c1", "c2"):
        created = run_nexus("workspace", "create", name, "-t", "hooked")
        assert created.exit_code == 0, created.stderr
        assert file_in_service(name, "/tmp/hooks", "app") == f"created\nstarted-{name}\n"
    # A changed command waits again, on up as on create: nothing starts.
    assert run_nexus("workspace", "down", "c1").exit_code == 0
    hooked_template(hooked_project / ".nexus" / "templates", test_image, start="restarted")
    up = run_nexus("workspace", "up", "c1")
    assert up.exit_code == 5, up.stderr
    assert up.stderr.splitlines()[0] == (
        "error: the project's template 'hooked': its post_start hook "
        "`echo restarted-${NEXUS_WORKSPACE} >> /tmp/hooks` in app waits for a person's approval"
    )
    assert run_nexus("workspace", "status", "c1", "--json").json()["state"] == "stopped"
    # c2 still runs: an `up` that starts nothing runs no post_start hook, so asks for none.
    kept = run_nexus("workspace", "up", "c2", "--json")
    assert kept.exit_code == 0, kept.stderr
    assert kept.json()["started"] == [] and kept.json()["kept"] == ["app"]
    assert file_in_service("c2", "/tmp/hooks", "app") == "created\nstarted-c2\n"
    assert run_nexus("workspace", "create", "c3", "-t", "hooked").exit_code == 5
    nothing_made_named = run_nexus("workspace", "list", "--json").json()["workspaces"]
    assert sorted(w["name"] for w in nothing_made_named) == ["c1", "c2"]


@pytest.mark.docker
def test_a_refused_approval_of_container_hooks_changes_nothing(hooked_project: Path) -> None:
    with pytest.raises(UsageError, match="not approved"):
        workspace_hooks.approve_containers(find_project(hooked_project), ask=lambda q: False)
    listed = run_nexus("workspace", "hooks", "--json").json()
    assert [h["approved"] for h in listed] == [False, False]


def test_a_broken_template_is_left_out_of_the_hooks_not_a_reason_to_refuse_them(
    hooked_project: Path,
) -> None:
    """One unreadable template in the repository does not stop a person from seeing and
    approving the others' hooks, nor the project's host hooks."""
    (hooked_project / ".nexus" / "templates" / "broken.yaml").write_text("services: [\n")
    project_config(hooked_project, "workspaces:\n  hooks:\n    pre_create: echo pre\n")
    listed = run_nexus("workspace", "hooks", "--json")
    assert listed.exit_code == 0, listed.stderr
    assert [(h["event"], h.get("template")) for h in listed.json()] == [
        ("pre_create", None),
        ("post_create", "hooked"),
        ("post_start", "hooked"),
    ]
    assert listed.stderr.startswith("warning: template broken is not listed")
    me = find_project(hooked_project)
    assert [
        v.template.name for v in workspace_hooks.approve_containers(me, ask=lambda q: True)
    ] == [
        "hooked",
        "hooked",
    ]
    assert [h["approved"] for h in run_nexus("workspace", "hooks", "--json").json()] == [
        False,
        True,
        True,
    ]


@pytest.mark.docker
def test_the_users_own_template_runs_its_container_hooks_unasked(
    project: Path,
    test_image: str,
    cleanup_docker: list[str],  # noqa: F811
) -> None:
    hooked_template(paths.user_config_dir() / "templates", test_image)
    cleanup_docker.append(find_project(project).project_id())
    created = run_nexus("workspace", "create", "u1", "-t", "hooked")
    assert created.exit_code == 0, created.stderr
    assert file_in_service("u1", "/tmp/hooks", "app") == "created\nstarted-u1\n"
    assert run_nexus("workspace", "hooks", "--json").json() == []  # only the project's are listed
    shown = run_nexus("workspace", "hooks", "--template", "hooked", "--json").json()
    assert [(h["origin"], h["how"]) for h in shown] == [("user", "user"), ("user", "user")]


def test_a_built_in_templates_container_hooks_need_no_approval(project: Path) -> None:
    """The shipped python-postgres template has a post_create hook: it is not repository
    content, so the check passes (no engine needed: the check comes before anything is made)."""
    template = load_template("python-postgres", project, {})
    assert template.origin == "builtin" and template.hooks["post_create"]
    workspace_hooks.container_hooks(find_project(project))(template, ["post_create"])
    # the same file copied into the repository is the repository's: it waits
    folder = project / ".nexus" / "templates"
    folder.mkdir(parents=True)
    (folder / "python-postgres.yaml").write_text(template.path.read_text())
    mine = load_template("python-postgres", project, {})
    with pytest.raises(Exception, match="waits for a person's approval") as refused:
        workspace_hooks.container_hooks(find_project(project))(mine, ["post_create"])
    assert getattr(refused.value, "exit_code", None) == 5


def test_a_container_hooks_variables_are_part_of_what_is_approved(
    project: Path, test_image: str
) -> None:
    """A --var value is in the command that runs: approving the default does not approve
    another value (an MCP caller's, say); --template with --var approves that one."""
    folder = project / ".nexus" / "templates"
    folder.mkdir(parents=True)
    (folder / "greet.yaml").write_text(
        "x-nexus:\n  variables: {WHO: world}\n  hooks:\n"
        "    post_create: [{service: app, command: [echo, 'hi ${WHO}']}]\n"
        f"services:\n  app: {{image: {test_image}}}\n"
    )
    me = find_project(project)
    workspace_hooks.approve_containers(me, ask=lambda q: True)
    check = workspace_hooks.container_hooks(me)
    check(load_template("greet", project, {}), ["post_create"])
    other = load_template("greet", project, {"WHO": "x; id"})
    with pytest.raises(Exception, match=r"`echo 'hi x; id'` in app waits") as refused:
        check(other, ["post_create"])
    assert "--template greet (with the --var values" in str(getattr(refused.value, "hint", ""))
    listed = run_nexus("workspace", "hooks", "-t", "greet", "--var", "WHO=x; id", "--json")
    assert [h["command"] for h in listed.json()] == ["echo 'hi x; id'"]
    assert listed.json()[0]["approved"] is False
    workspace_hooks.approve_containers(me, "greet", {"WHO": "x; id"}, ask=lambda q: True)
    check(other, ["post_create"])
    assert run_nexus("workspace", "hooks", "--var", "WHO=1").exit_code == 2
