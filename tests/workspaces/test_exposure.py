"""nexus_cli.workspaces.exposure: published ports stay on this machine unless you say otherwise;
the repository's configuration cannot widen them (issue 25, cause 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nexus_cli.errors import ConfigError
from nexus_cli.project import find_project
from nexus_cli.workspaces.exposure import choose_bind_address, user_config_path
from tests.conftest import run_nexus


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
