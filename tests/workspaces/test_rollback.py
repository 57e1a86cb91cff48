"""An interrupted `workspace create` leaves nothing, on the real Docker engine: SIGTERM, SIGHUP
or SIGINT at several points (after the branch, after the network, after a container), and a kill
(no clean-up runs) that the next create or `workspace repair` undoes from the record's journal."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nexus_cli.project import find_project
from tests.conftest import git, nexus_exe, run_nexus

pytestmark = pytest.mark.docker

NAME = "intr"
STUCK = (
    "services:\n  app:\n    image: {image}\n    command: ['sleep', '3600']\n"
    "    volumes: ['data:/data']\n"
    "    healthcheck: {{test: 'false', interval: 1s, retries: 1000}}\n"
)
PLAIN = "services:\n  app:\n    image: {image}\n    command: ['sleep', '3600']\n"


def _template(root: Path, text: str) -> None:
    (root / ".nexus" / "templates" / "slow.yaml").write_text(text)


def _objects(client: Any, root: Path) -> dict[str, list[Any]]:
    project_id = find_project(root).project_id()
    label = {"label": [f"dev.nexus.project={project_id}", f"dev.nexus.workspace={NAME}"]}
    return {
        # sparse: one list request, no inspect of each (one removed meanwhile is not an error)
        "containers": client.containers.list(all=True, filters=label, sparse=True),
        "networks": client.networks.list(filters=label),
        "volumes": client.volumes.list(filters=label),
    }


def _branch(root: Path) -> bool:
    return git(root, "branch", "--list", NAME) != ""


def _nothing_left(root: Path, client: Any) -> None:
    assert _objects(client, root) == {"containers": [], "networks": [], "volumes": []}
    assert not (root / ".nexus" / "worktrees" / NAME).exists()
    assert not _branch(root)
    assert run_nexus("workspace", "list", "--json").json()["workspaces"] == []


def _start_create(root: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*nexus_exe(), "workspace", "create", NAME, "-t", "slow", "--health-timeout", "120"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(check: Callable[[], bool], proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 90
    while not check():
        assert time.monotonic() < deadline, "the create never got there"
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)


POINTS: dict[str, Callable[[Path, Any], bool]] = {
    "branch": lambda root, client: _branch(root),
    "network": lambda root, client: bool(_objects(client, root)["networks"]),
    "container": lambda root, client: bool(_objects(client, root)["containers"]),
}


@pytest.mark.parametrize(
    ("point", "sig", "code"),
    [
        ("branch", signal.SIGTERM, 143),
        ("network", signal.SIGINT, 130),
        ("container", signal.SIGTERM, 143),
        ("container", signal.SIGHUP, 129),  # the terminal closed: the same clean-up
    ],
)
def test_a_signal_at_any_step_leaves_nothing_and_the_name_can_be_created_again(
    ws_project: Path, test_image: str, docker_client: Any, point: str, sig: int, code: int
) -> None:
    _template(ws_project, STUCK.format(image=test_image))
    proc = _start_create(ws_project)
    _wait_for(lambda: POINTS[point](ws_project, docker_client), proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert "Traceback" not in err
    _nothing_left(ws_project, docker_client)
    _template(ws_project, PLAIN.format(image=test_image))
    again = run_nexus("workspace", "create", NAME, "-t", "slow")
    assert again.exit_code == 0, again.stderr


def _killed_after_the_network(root: Path, client: Any, image: str) -> dict[str, Any]:
    """A create killed (SIGKILL: no clean-up) once its network exists; its record's journal."""
    _template(root, STUCK.format(image=image))
    proc = _start_create(root)
    _wait_for(lambda: POINTS["network"](root, client), proc)
    proc.kill()
    proc.wait(timeout=30)
    rows = json.loads((root / ".nexus" / "state" / "workspaces.json").read_text())["workspaces"]
    [row] = [r for r in rows if r["name"] == NAME]
    journal: dict[str, Any] = row["creating"]
    return journal


def test_a_killed_create_is_undone_by_the_next_create_of_its_name(
    ws_project: Path, test_image: str, docker_client: Any
) -> None:
    journal = _killed_after_the_network(ws_project, docker_client, test_image)
    assert journal["docker"] is True and journal["owner"]["token"]
    assert _objects(docker_client, ws_project)["networks"]  # left behind, named by the journal
    _template(ws_project, PLAIN.format(image=test_image))
    again = run_nexus("workspace", "create", NAME, "-t", "slow", "--json")
    assert again.exit_code == 0, again.stderr
    assert len(_objects(docker_client, ws_project)["networks"]) == 1
    rows = json.loads((ws_project / ".nexus" / "state" / "workspaces.json").read_text())
    assert "creating" not in rows["workspaces"][0]  # created: no journal left


def test_a_killed_create_is_undone_by_repair(
    ws_project: Path, test_image: str, docker_client: Any
) -> None:
    _killed_after_the_network(ws_project, docker_client, test_image)
    repaired = run_nexus("workspace", "repair", NAME)
    assert repaired.exit_code == 0, repaired.stderr
    assert "interrupted create" in repaired.stdout + repaired.stderr
    _nothing_left(ws_project, docker_client)


def test_a_create_in_progress_is_not_undone_by_another(
    ws_project: Path, test_image: str, docker_client: Any
) -> None:
    _template(ws_project, STUCK.format(image=test_image))
    proc = _start_create(ws_project)
    try:
        _wait_for(lambda: POINTS["network"](ws_project, docker_client), proc)
        other = run_nexus("workspace", "create", NAME, "-t", "slow")
        assert other.exit_code == 1
        assert "another process is creating it" in other.stderr
        assert _objects(docker_client, ws_project)["networks"]  # the live create's, untouched
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=120)
    _nothing_left(ws_project, docker_client)


def test_two_networks_of_the_workspace_s_name_are_made_one_and_the_create_succeeds(
    ws_project: Path, test_image: str, docker_client: Any
) -> None:
    """The engine (API < 1.44) lets a create the interrupt cut short finish after the undo
    looked, so a second network of the same name can appear; a lookup by name is then
    ambiguous. The next create keeps the oldest and removes the other."""
    from nexus_cli.workspaces.handle import Workspace

    workspace = Workspace(find_project(ws_project), NAME)
    for _ in range(2):
        docker_client.api.create_network(
            workspace.network_name, driver="bridge", labels=workspace.labels()
        )
    oldest = sorted(
        docker_client.networks.list(names=[workspace.network_name]),
        key=lambda n: n.attrs["Created"],
    )[0]
    _template(ws_project, PLAIN.format(image=test_image))
    made = run_nexus("workspace", "create", NAME, "-t", "slow")
    assert made.exit_code == 0, made.stderr
    left = [
        n
        for n in docker_client.networks.list(names=[workspace.network_name])
        if n.name == workspace.network_name
    ]
    assert [n.id for n in left] == [oldest.id]
