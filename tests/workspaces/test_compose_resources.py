"""What a Compose service's container may use of the machine (nexus_cli/workspaces/
compose_resources.py): deploy.resources and Compose's older service keys for the same limits,
read alike, refused when they would widen what the container may take, and given to the engine
as `docker compose` gives them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from nexus_cli.errors import ConfigError
from nexus_cli.project import find_project
from nexus_cli.workspaces.compose import load_compose
from tests.conftest import run_nexus


def _load(project: Path, settings: str) -> Any:
    (project / "compose.yaml").write_text(f"services:\n  app:\n    image: x\n{settings}")
    return load_compose(project, "compose.yaml").services["app"]


def test_both_spellings_are_read_alike(project: Path) -> None:
    older = _load(
        project,
        "    cpus: 0.5\n    mem_limit: 64m\n    mem_reservation: 32m\n"
        "    pids_limit: 100\n    cpu_shares: 512\n",
    )
    deploy = _load(
        project,
        "    cpu_shares: 512\n    deploy: {resources: {limits: {cpus: '0.5', memory: 64M, "
        "pids: 100}, reservations: {memory: 32M}}}\n",
    )
    for app in (older, deploy):
        assert (app.nano_cpus, app.mem_limit, app.mem_reservation) == (
            500_000_000,
            64 << 20,
            32 << 20,
        )
        assert (app.pids_limit, app.cpu_shares) == (100, 512)
    both = _load(project, "    mem_limit: 64m\n    deploy: {resources: {limits: {memory: 64M}}}\n")
    assert both.mem_limit == 64 << 20  # the same limit twice, as Compose allows
    assert _load(project, "").pids_limit is None  # none given: the engine's own


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        (
            "    mem_limit: 64m\n    deploy: {resources: {limits: {memory: 128m}}}\n",
            "services.app.mem_limit: expected the same value as "
            "services.app.deploy.resources.limits.memory",
        ),
        ("    pids_limit: -1\n", "services.app.pids_limit: expected a positive number"),
        ("    pids_limit: 0\n", "unlimited is refused"),
        ("    cpu_shares: 4096\n", "services.app.cpu_shares: expected a weight from 2 to 1024"),
        ("    mem_limit: 64m\n    mem_reservation: 128m\n", "expected at most the memory limit"),
        ("    cpus: 0\n", "services.app.cpus: expected a number of CPUs"),
        ("    mem_limit: 1k\n", "services.app.mem_limit: expected at least 6m"),
        (
            "    deploy: {resources: {reservations: {cpus: '1'}}}\n",
            "services.app.deploy.resources.reservations.cpus (not supported)",
        ),
    ],
)
def test_what_would_widen_or_contradict_is_refused(
    project: Path, settings: str, words: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(words)):
        _load(project, settings)


@pytest.mark.docker
def test_the_engine_gets_the_limits(
    project: Path, test_image: str, cleanup_docker: list[str], docker_client: Any
) -> None:
    (project / "compose.yaml").write_text(
        f"services:\n  app:\n    image: {test_image}\n    command: [sleep, '3600']\n"
        "    cpus: 0.5\n    mem_limit: 64m\n    mem_reservation: 32m\n"
        "    pids_limit: 100\n    cpu_shares: 512\n"
    )
    project_id = find_project(project).project_id()
    cleanup_docker.append(project_id)
    result = run_nexus("workspace", "create", "r1", "--compose", "compose.yaml")
    assert result.exit_code == 0, result.stderr
    (container,) = docker_client.containers.list(
        filters={"label": [f"dev.nexus.project={project_id}"]}
    )
    host = container.attrs["HostConfig"]
    assert (host["NanoCpus"], host["Memory"], host["MemoryReservation"]) == (
        500_000_000,
        64 << 20,
        32 << 20,
    )
    assert (host["PidsLimit"], host["CpuShares"]) == (100, 512)
    assert run_nexus("workspace", "delete", "r1", "--force").exit_code == 0
