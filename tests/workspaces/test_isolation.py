"""The seed's multi-workspace scenario, and two repositories whose folders share a name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nexus_cli.project import find_project
from tests.conftest import git, run_nexus
from tests.workspaces.conftest import file_in_service, write_test_template

pytestmark = pytest.mark.docker

NAMES = ("feature-auth", "feature-payment", "bugfix-login")


def test_three_workspaces_are_isolated(ws_project: Path, docker_client: Any) -> None:
    for name in NAMES:
        result = run_nexus("workspace", "create", name, "-t", "duo")
        assert result.exit_code == 0, result.stderr
    pid = find_project(ws_project).project_id()

    # Each on its own branch, in its own folder.
    for name in NAMES:
        path = ws_project / ".nexus" / "worktrees" / name
        assert git(path, "rev-parse", "--abbrev-ref", "HEAD").strip() == name

    # No port conflicts, although all three asked for the same preferred port.
    ports = [run_nexus("workspace", "ports", n, "--json").json()[0]["host_port"] for n in NAMES]
    assert len(set(ports)) == 3

    # Own network and volume each; a workspace's containers are only on its own network.
    for name in NAMES:
        label = {"label": [f"dev.nexus.project={pid}", f"dev.nexus.workspace={name}"]}
        (network,) = docker_client.networks.list(filters=label)
        assert network.name == f"nexus-{pid}-{name}"
        (volume,) = docker_client.volumes.list(filters=label)
        assert volume.name == f"nexus-{pid}-{name}-data"
        db = docker_client.containers.get(f"nexus-{pid}-{name}-db")
        assert set(db.attrs["NetworkSettings"]["Networks"]) == {network.name}

    # Data written in one workspace is invisible in the others.
    secret = run_nexus(
        "workspace", "exec", NAMES[0], "--", "sh", "-c", "echo auth-only > /data/secret"
    )
    assert secret.exit_code == 0
    assert file_in_service(NAMES[0], "/data/secret") == "auth-only\n"
    for other in NAMES[1:]:
        assert (
            run_nexus("workspace", "exec", other, "--", "test", "-e", "/data/secret").exit_code == 1
        )

    # A commit in one worktree does not show up in another.
    auth = ws_project / ".nexus" / "worktrees" / NAMES[0]
    (auth / "jwt.txt").write_text("jwt")
    git(auth, "add", "jwt.txt")
    git(auth, "commit", "-qm", "jwt")
    assert not (ws_project / ".nexus" / "worktrees" / NAMES[1] / "jwt.txt").exists()

    listed = run_nexus("workspace", "list", "--json").json()
    assert {w["name"]: w["state"] for w in listed["workspaces"]} == dict.fromkeys(NAMES, "running")


def test_two_repositories_with_the_same_folder_name(
    tmp_path: Path, test_image: str, cleanup_docker: list[str], docker_client: Any
) -> None:
    roots = []
    for parent in ("a", "b"):
        root = tmp_path / parent / "app"
        root.mkdir(parents=True)
        git(root, "init", "-q", "-b", "main")
        (root / "README.md").write_text(parent)
        git(root, "add", "README.md")
        git(root, "commit", "-qm", "init")
        assert run_nexus("-C", str(root), "init").exit_code == 0
        write_test_template(root, test_image)
        cleanup_docker.append(find_project(root).project_id())
        roots.append(root)
    for root in roots:
        result = run_nexus("-C", str(root), "workspace", "create", "dev", "-t", "duo")
        assert result.exit_code == 0, result.stderr
    ids = [find_project(r).project_id() for r in roots]
    assert ids[0] != ids[1]
    for pid in ids:
        for service in ("db", "web"):
            assert docker_client.containers.get(f"nexus-{pid}-dev-{service}").status == "running"
    run_nexus(
        "-C", str(roots[0]), "workspace", "exec", "dev", "--", "sh", "-c", "echo a > /data/who"
    )
    other = run_nexus(
        "-C", str(roots[1]), "workspace", "exec", "dev", "--", "test", "-e", "/data/who"
    )
    assert other.exit_code == 1
