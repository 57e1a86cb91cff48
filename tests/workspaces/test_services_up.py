"""Bringing services up: when a host port is taken between its allocation and the engine's bind
(another program, another user's workspace) the ports are allocated again, never the refused one;
a service without a healthcheck that exits after its start fails the create, checked once its
own window (SETTLE_S from its start) is over."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from nexus_cli.project import find_project
from nexus_cli.workspaces import docker_services, services_up
from tests.conftest import run_nexus


@pytest.mark.docker
def test_a_port_taken_before_the_start_is_replaced(
    ws_project: Path,
    test_image: str,
    docker_client: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_create = docker_services.create_container
    blockers: list[Any] = []

    def create_after_someone_took_the_port(client: Any, plan: Any) -> Any:
        # Between the allocation and the start, another program takes the web port.
        if plan.host_ports and not blockers:
            (port,) = plan.host_ports.values()
            blockers.append(
                docker_client.containers.run(
                    test_image,
                    ["sleep", "600"],
                    detach=True,
                    ports={"9999/tcp": ("127.0.0.1", port)},
                    labels={"dev.nexus.test": "port-blocker"},
                )
            )
        return real_create(client, plan)

    monkeypatch.setattr(docker_services, "create_container", create_after_someone_took_the_port)
    try:
        created = run_nexus("workspace", "create", "w1", "-t", "duo", "--json")
        assert created.exit_code == 0, created.stderr
        blocker = blockers[0]
        blocker.reload()
        taken = int(blocker.ports["9999/tcp"][0]["HostPort"])
        (web,) = [p for p in created.json()["ports"] if p["service"] == "web"]
        assert web["host_port"] != taken
        assert f"port {taken} of web was taken meanwhile; trying another" in created.stderr
        status = run_nexus("workspace", "status", "w1", "--json")
        assert status.exit_code == 0 and status.json()["state"] == "running", status.stdout
    finally:
        for blocker in blockers:
            blocker.remove(force=True)
        run_nexus("workspace", "delete", "w1", "--force")


@pytest.mark.docker
def test_a_window_that_began_at_an_earlier_start_is_not_waited_again(
    docker_client: Any, test_image: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each service's window is counted from its own start: one started long ago costs one look.
    monkeypatch.setattr(services_up, "SETTLE_S", 60.0)
    container = docker_client.containers.run(
        test_image, ["sleep", "600"], detach=True, labels={"dev.nexus.test": "settled"}
    )
    try:
        begun = time.monotonic()
        services_up._check_still_running([("db", container, begun - 120)])
        assert time.monotonic() - begun < 30
    finally:
        container.remove(force=True)


@pytest.mark.docker
@pytest.mark.parametrize(
    ("db", "web", "quits"),
    [
        # the last service started exits at once: reported within its own window
        (["sleep", "3600"], ["sh", "-c", "exit 3"], "web"),
        # the first one exits while the next starts: reported all the same
        (["sh", "-c", "sleep 0.05; exit 3"], ["sleep", "3600"], "db"),
    ],
)
def test_a_service_that_exits_after_its_start_fails_the_create(
    ws_project: Path, test_image: str, docker_client: Any, db: list[str], web: list[str], quits: str
) -> None:
    (ws_project / ".nexus" / "templates" / "quits.yaml").write_text(
        f"services:\n  db:\n    image: {test_image}\n    command: {json.dumps(db)}\n"
        f"  web:\n    image: {test_image}\n    command: {json.dumps(web)}\n"
        "    depends_on: [db]\n"
    )
    created = run_nexus("workspace", "create", "q", "-t", "quits")
    assert created.exit_code == 1, created.stderr
    assert f"service {quits!r} exited with code 3" in created.stderr
    # the container and its logs are gone: the hint says how to keep them, not to read them
    hint = created.stderr.split("hint: ", 1)[1]
    assert hint.startswith(
        "to see the rest of its logs, keep what was made: rerun with --keep-on-failure, then "
        f"`nexus workspace logs q {quits}`; removed what this create had made"
    ), hint
    label = {"label": [f"dev.nexus.project={find_project(ws_project).project_id()}"]}
    assert docker_client.containers.list(all=True, filters=label) == []
    assert not (ws_project / ".nexus" / "worktrees" / "q").exists()


@pytest.mark.docker
def test_the_first_container_is_made_alone_and_the_others_while_it_starts(
    ws_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The engine makes one container faster than two at once: the first service to start is not
    # kept waiting by the creates of services that start only later.
    real_create = docker_services.create_container
    spans: list[tuple[str, float, float]] = []

    def timed(client: Any, plan: Any) -> Any:
        began = time.monotonic()
        try:
            return real_create(client, plan)
        finally:
            spans.append((plan.service.name, began, time.monotonic()))

    monkeypatch.setattr(docker_services, "create_container", timed)
    try:
        created = run_nexus("workspace", "create", "w1", "-t", "duo")
        assert created.exit_code == 0, created.stderr
        by_name = {name: (began, ended) for name, began, ended in spans}
        assert set(by_name) == {"db", "web"}
        assert by_name["web"][0] >= by_name["db"][1]  # db (started first) was made alone
    finally:
        run_nexus("workspace", "delete", "w1", "--force")
