"""nexus_cli.workspaces.exposure: published ports stay on this machine unless you say otherwise;
the repository's configuration cannot widen them (issue 25, cause 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nexus_cli.errors import ConfigError
from nexus_cli.project import find_project
from nexus_cli.safe_path import LinkInPathError
from nexus_cli.workspaces.exposure import (
    BindChoice,
    choose_bind_address,
    forget_choice,
    recorded_address,
    remember_choice,
    user_config_path,
)
from tests.conftest import git, run_nexus


def _project_config(project: Path, address: str) -> Path:
    path = project / ".nexus" / "config.yaml"
    path.write_text(f"version: 1\nworkspaces:\n  bind_address: {json.dumps(address)}\n")
    return path


def _my_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, address: str) -> Path:
    folder = tmp_path / "my-config"
    folder.mkdir()
    monkeypatch.setenv("NEXUS_CONFIG_HOME", str(folder))
    path = folder / "config.yaml"
    path.write_text(f"workspaces:\n  bind_address: {json.dumps(address)}\n")
    return path


@pytest.mark.parametrize("address", ["0.0.0.0", "::", "192.168.1.20", "10.0.0.1"])
def test_the_repository_cannot_publish_ports_beyond_this_machine(
    project: Path, address: str
) -> None:
    path = _project_config(project, address)
    choice = choose_bind_address(find_project(project))
    assert choice.address == "127.0.0.1"
    assert choice.notice is not None
    assert f"ignored workspaces.bind_address: {address} in {path}" in choice.notice
    assert "--bind-all" in choice.notice and "\n" not in choice.notice


@pytest.mark.parametrize("address", ["127.0.0.2", "::1"])
def test_the_repository_may_keep_ports_on_loopback(project: Path, address: str) -> None:
    _project_config(project, address)
    assert choose_bind_address(find_project(project)).address == address
    assert choose_bind_address(find_project(project)).notice is None


def test_your_config_and_the_flag_may_widen(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project_config(project, "127.0.0.1")
    assert choose_bind_address(find_project(project), "0.0.0.0").address == "0.0.0.0"
    mine = _my_config(tmp_path, monkeypatch, "0.0.0.0")
    assert mine == user_config_path()
    assert choose_bind_address(find_project(project)).address == "0.0.0.0"


def test_a_value_that_is_not_an_address_names_file_and_key(project: Path) -> None:
    path = _project_config(project, "everywhere")
    with pytest.raises(ConfigError, match=rf"{path}: workspaces.bind_address: 'everywhere'"):
        choose_bind_address(find_project(project))


def test_create_ignores_a_committed_bind_address_with_one_line(project: Path) -> None:
    path = _project_config(project, "0.0.0.0")
    created = run_nexus("workspace", "create", "w")
    assert created.exit_code == 0, created.stderr
    notices = [line for line in created.stderr.splitlines() if "ignored" in line]
    assert notices == [
        f"ignored workspaces.bind_address: 0.0.0.0 in {path}: a repository cannot publish ports "
        f"beyond this machine (set it in {user_config_path()} or pass --bind-all)"
    ]
    state = json.loads((project / ".nexus" / "state" / "workspaces.json").read_text())
    assert json.dumps(state).count('"bind_address": "127.0.0.1"') == 1
    bound = run_nexus("workspace", "create", "all", "--bind-all")
    assert bound.exit_code == 0 and "ignored" not in bound.stderr
    state = json.loads((project / ".nexus" / "state" / "workspaces.json").read_text())
    assert json.dumps(state).count('"bind_address": "0.0.0.0"') == 1


def _record_address(project: Path, name: str, address: str) -> None:
    """What a commit of ``.nexus/state/workspaces.json`` could bring: a record's wider address."""
    path = project / ".nexus" / "state" / "workspaces.json"
    state = json.loads(path.read_text())
    (row,) = [r for r in state["workspaces"] if r["name"] == name]
    assert row["bind_address"] == "127.0.0.1"
    row["bind_address"] = address
    path.write_text(json.dumps(state))


def test_a_record_s_wider_address_counts_only_when_you_chose_it(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = find_project(project)
    plain = recorded_address(here, "w", "0.0.0.0")
    assert plain.address == "127.0.0.1"
    assert plain.notice is not None and "not chosen on this machine" in plain.notice
    assert recorded_address(here, "w", "127.0.0.2") == BindChoice("127.0.0.2")
    assert recorded_address(here, "w", "not an address").address == "127.0.0.1"
    remember_choice(here, "w", "0.0.0.0")
    assert recorded_address(here, "w", "0.0.0.0") == BindChoice("0.0.0.0")
    assert recorded_address(here, "other", "0.0.0.0").address == "127.0.0.1"  # per workspace
    assert recorded_address(here, "w", "10.0.0.1").address == "127.0.0.1"  # that address only
    clone = tmp_path / "clone"  # the same repository cloned elsewhere: its own decisions
    git(project.parent, "clone", "-q", str(project), str(clone))
    (clone / ".nexus" / "state").mkdir(parents=True, exist_ok=True)
    assert recorded_address(find_project(clone), "w", "0.0.0.0").address == "127.0.0.1"
    forget_choice(here, "w")
    assert recorded_address(here, "w", "0.0.0.0").address == "127.0.0.1"
    _my_config(tmp_path, monkeypatch, "0.0.0.0")
    assert recorded_address(here, "w", "0.0.0.0") == BindChoice("0.0.0.0")


def test_the_grant_file_is_private_and_a_link_to_it_is_refused(project: Path) -> None:
    import os
    import stat

    here = find_project(project)
    remember_choice(here, "w", "0.0.0.0")
    grants = Path(os.environ["NEXUS_HOME"]) / "exposure" / f"{here.machine_key()}.json"
    assert stat.S_IMODE(grants.stat().st_mode) == 0o600
    forget_choice(here, "w")
    assert json.loads(grants.read_text())["workspaces"] == {}
    grants.unlink()
    elsewhere = project / "planted.json"
    elsewhere.write_text(json.dumps({"format": 1, "workspaces": {"w": "0.0.0.0"}}))
    grants.symlink_to(elsewhere)
    with pytest.raises(LinkInPathError):
        recorded_address(here, "w", "0.0.0.0")


@pytest.mark.docker
def test_up_ignores_a_wider_address_a_commit_put_in_the_record(
    ws_project: Path, docker_client: Any
) -> None:
    created = run_nexus("workspace", "create", "w", "-t", "duo")
    assert created.exit_code == 0, created.stderr
    assert run_nexus("workspace", "down", "w").exit_code == 0
    _record_address(ws_project, "w", "0.0.0.0")
    up = run_nexus("workspace", "up", "w")
    assert up.exit_code == 0, up.stderr
    assert "ignored bind address 0.0.0.0 in the record of workspace 'w'" in up.stderr
    rows = run_nexus("workspace", "ports", "w", "--json").json()
    assert {row["address"] for row in rows} == {"127.0.0.1"}
    label = {"label": ["dev.nexus.workspace=w", "dev.nexus.service=web"]}
    (web,) = docker_client.containers.list(filters=label)
    bindings = [b for b in web.attrs["HostConfig"]["PortBindings"].values() if b]
    assert {b[0]["HostIp"] for b in bindings} == {"127.0.0.1"}


@pytest.mark.docker
def test_up_keeps_the_wider_address_you_chose_at_create(ws_project: Path) -> None:
    created = run_nexus("workspace", "create", "all", "-t", "duo", "--bind-all")
    assert created.exit_code == 0, created.stderr
    assert run_nexus("workspace", "down", "all").exit_code == 0
    up = run_nexus("workspace", "up", "all")
    assert up.exit_code == 0 and "ignored" not in up.stderr, up.stderr
    rows = run_nexus("workspace", "ports", "all", "--json").json()
    assert {row["address"] for row in rows} == {"0.0.0.0"}
    deleted = run_nexus("workspace", "delete", "all", "--force")
    assert deleted.exit_code == 0, deleted.stderr
    assert recorded_address(find_project(ws_project), "all", "0.0.0.0").address == "127.0.0.1"
