"""Fixtures for workspace tests: a project with a test template on the local busybox image, and
clean-up of every Docker object labelled for the test projects."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nexus_cli.project import find_project

TEMPLATE = """\
# Two services on the local FROM-scratch busybox image: a "db" that keeps data in a named
# volume and has a healthcheck, and a "web" that serves the worktree on a published port.
x-nexus:
  description: test template (busybox)
  variables:
    WEB_PORT: "{web_port}"
    GREETING: hello
  default_service: db
  files:
    hello.txt: "${{GREETING}} from ${{NEXUS_WORKSPACE}}\\n"
  hooks:
    post_create:
      - service: db
        command: "echo created >> /data/created-by-hook"
    post_start:
      - service: db
        command: "echo started >> /data/starts"
services:
  db:
    image: {image}
    command: ["sh", "-c", "touch /tmp/ready; exec sleep 3600"]
    volumes: ["data:/data"]
    healthcheck:
      test: "test -f /tmp/ready"
      interval: 100ms
      timeout: 2s
      retries: 50
  web:
    image: {image}
    command: ["httpd", "-f", "-p", "8080", "-h", "/workspace"]
    ports: ["${{WEB_PORT}}:8080"]
    depends_on: [db]
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_test_template(
    root: Path, image: str, name: str = "duo", web_port: int | None = None
) -> Path:
    folder = root / ".nexus" / "templates"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(TEMPLATE.format(image=image, web_port=web_port or free_port()))
    return path


def remove_project_objects(client: Any, project_id: str) -> None:
    label = {"label": [f"dev.nexus.project={project_id}"]}
    for container in client.containers.list(all=True, filters=label):
        container.remove(force=True)
    for network in client.networks.list(filters=label):
        network.remove()
    for volume in client.volumes.list(filters=label):
        volume.remove(force=True)
    for image in client.images.list(filters=label):  # built for a Compose build:
        client.images.remove(image.id, force=True)


@pytest.fixture
def cleanup_docker() -> Iterator[list[str]]:
    """Project ids to clean up: every container, network and volume labelled for them."""
    ids: list[str] = []
    yield ids
    if not ids:
        return
    import docker

    client = docker.from_env()
    try:
        for project_id in ids:
            remove_project_objects(client, project_id)
    finally:
        client.close()


@pytest.fixture
def ws_project(project: Path, test_image: str, cleanup_docker: list[str]) -> Path:
    """An initialised project (cwd) with the `duo` test template; its Docker objects are removed."""
    write_test_template(project, test_image)
    cleanup_docker.append(find_project(project).project_id())
    return project


def file_in_service(workspace: str, path: str, service: str = "db") -> str:
    """A file in a workspace's service container, read through the engine's archive API: not an
    exec, whose output the engine can drop when the command is short (moby/moby#27289)."""
    import io
    import tarfile

    import docker

    from nexus_cli.workspaces.handle import Workspace

    name = Workspace(find_project(), workspace).container_name(service)
    client = docker.from_env()
    try:
        stream, _ = client.containers.get(name).get_archive(path)
        data = b"".join(stream)
    finally:
        client.close()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        member = tar.next()
        assert member is not None
        content = tar.extractfile(member)
        assert content is not None
        return content.read().decode()
