"""Bringing services up when a host port is taken between its allocation and the engine's bind
(another program, another user's workspace): the ports are allocated again, never the refused one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nexus_cli.workspaces import docker_services
from nexus_cli.workspaces.services_up import taken_port
from tests.conftest import run_nexus


def test_the_engine_s_words_for_a_taken_port_are_understood() -> None:
    allocated = "driver failed programming external connectivity on endpoint x (abc): Bind for 127.0.0.1:18080 failed: port is already allocated"
    in_use = (
        "Error starting userland proxy: listen tcp4 127.0.0.1:18081: bind: address already in use"
    )
    assert taken_port(Exception(allocated)) == 18080
    assert taken_port(Exception(in_use)) == 18081
    assert taken_port(Exception("no such image")) is None


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
