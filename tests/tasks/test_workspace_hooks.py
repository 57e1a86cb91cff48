"""Host hooks around workspaces on real processes and git: the user's run, the project's wait
for a person's approval, and a failing hook stops the step it guards with nothing left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexus_cli.errors import ConfigError, UsageError
from nexus_cli.project import find_project
from nexus_cli.tasks import workspace_hooks
from tests.conftest import git, run_nexus


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
