"""Fixtures for workspace tests: a project with a test template on the local busybox image, and
clean-up of every Docker object labelled for the test projects."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nexus_cli import engine_ssh
from nexus_cli.project import find_project
from nexus_cli.tasks import workspace_hooks

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
    root: Path,
    image: str,
    name: str = "duo",
    web_port: int | None = None,
    *,
    approve: bool = True,
) -> Path:
    """The `duo` test template in the project at ``root``; its container hooks approved (as a
    person does at a terminal, :func:`workspace_hooks.approve_containers`) unless ``approve``
    is False: a project's template is repository content."""
    folder = root / ".nexus" / "templates"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(TEMPLATE.format(image=image, web_port=web_port or free_port()))
    if approve:
        approve_template_hooks(root, name)
    return path


def approve_template_hooks(root: Path, template: str) -> None:
    """Approve the container hooks of the project's ``template`` as a person at a terminal."""
    workspace_hooks.approve_containers(find_project(root), template, ask=lambda question: True)


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


# --- a second Docker engine, reachable only over SSH, with its own view of the filesystem --------

REMOTE_ENGINE_SCRIPT = Path(__file__).with_name("remote_engine.sh")
REMOTE_ENGINE_PORT = 2247  # sshd of the remote engine on 127.0.0.1; no other test uses it


def _remote_engine_unavailable() -> str | None:
    """None when a remote engine can be started here, else why not."""
    if os.geteuid() != 0:
        return "the remote engine needs root (a second dockerd in its own mount namespace)"
    for tool, package in (
        ("unshare", "util-linux"),
        ("dockerd", "docker.io"),
        ("ssh", "openssh-client"),
    ):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install -y {package})"
    if not os.path.exists("/usr/sbin/sshd"):
        return "sshd is not installed (apt-get install -y openssh-server)"
    return None


def remote_client(host: str) -> Any:
    """A Docker client of the remote engine, as Nexus makes it: through this process's ssh
    forward of the engine's socket (nexus_cli/engine_ssh.py), without paramiko."""
    import docker

    return docker.DockerClient(base_url=engine_ssh.socket_url(host))


@pytest.fixture(scope="session")
def remote_engine(test_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``ssh://nexus-remote-engine-PORT``: a second dockerd in its own mount namespace (/tmp and
    /var/run are its own) behind sshd on 127.0.0.1 (tests/workspaces/remote_engine.sh), with the
    test image loaded. A bind mount of a local path there mounts an empty folder."""
    reason = _remote_engine_unavailable()
    if reason is not None:
        if os.environ.get("NEXUS_REQUIRE_DOCKER") == "1" and os.geteuid() == 0:
            pytest.fail(f"NEXUS_REQUIRE_DOCKER=1 but {reason}")
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("remote-engine")
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "DOCKER_CONTEXT")}
    # ssh reads the config of the passwd home: the script writes its Host entry there
    env.update(HOME=pwd.getpwuid(os.getuid()).pw_dir, REMOTE_ENGINE_PORT=str(REMOTE_ENGINE_PORT))
    script = ["bash", str(REMOTE_ENGINE_SCRIPT)]
    started = subprocess.run(
        [*script, "start", str(folder)], env=env, capture_output=True, text=True, timeout=240
    )
    host = f"ssh://nexus-remote-engine-{REMOTE_ENGINE_PORT}"
    try:
        if started.returncode != 0:
            logs = "".join(p.read_text(errors="replace") for p in folder.glob("*.log"))
            pytest.fail(f"the remote engine did not start: {started.stderr}{logs[-2000:]}")
        saved = subprocess.Popen(
            ["docker", "-H", "unix:///var/run/docker.sock", "save", test_image],
            stdout=subprocess.PIPE,
            env=env,
        )
        loaded = subprocess.run(
            ["docker", "load"],
            stdin=saved.stdout,
            env={**env, "DOCKER_HOST": host},
            capture_output=True,
            text=True,
            timeout=240,
        )
        saved.wait(timeout=60)
        assert loaded.returncode == 0, loaded.stderr
        yield host
    finally:
        subprocess.run([*script, "stop", str(folder)], env=env, capture_output=True, timeout=120)


# --- a second local engine whose address pool holds one network --------------------------------

SMALL_POOL = "10.213.0.0/24"  # one /24: the engine can make exactly one bridge network


@pytest.fixture
def small_pool_engine(test_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``unix://…/docker.sock`` of a second dockerd on this machine whose default address pool
    holds one network (``--default-address-pool base=10.213.0.0/24,size=24``), with the test
    image loaded; ended when the test ends. Its /var/run is its own (a private mount namespace,
    so its containerd and exec root never meet the main engine's), and so are its network
    interfaces (a network namespace of its own); the rest of the filesystem, the socket's folder
    included, is shared, so it is a local engine to Nexus."""
    if os.geteuid() != 0:
        pytest.skip("a second dockerd needs root")
    for tool in ("unshare", "dockerd", "docker"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    folder = tmp_path_factory.mktemp("pool-engine")
    sock = folder / "docker.sock"
    (folder / "inner.sh").write_text(
        "set -e\nmount --make-rprivate /\nmount -t tmpfs tmpfs /var/run\n"
        f"exec dockerd --data-root {folder}/data --exec-root /var/run/dx "
        f"--pidfile /var/run/d.pid --host unix://{sock} --iptables=false --bridge=none "
        f"--default-address-pool base={SMALL_POOL},size=24\n"
    )
    log = (folder / "dockerd.log").open("wb")
    daemon = subprocess.Popen(
        # its own network namespace too: a dockerd started with --bridge=none deletes the
        # interface docker0, which in this machine's namespace is the main engine's bridge
        ["unshare", "-m", "-n", "--propagation", "private", "bash", str(folder / "inner.sh")],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its process group is ended below, and nothing else
    )
    host = f"unix://{sock}"
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "DOCKER_CONTEXT")}
    try:
        info = ["docker", "-H", host, "info"]
        for _ in range(120):
            if subprocess.run(info, capture_output=True, env=env).returncode == 0:
                break
            if daemon.poll() is not None:
                break
            time.sleep(0.5)
        else:
            pytest.fail(
                f"the small-pool engine did not start: {(folder / 'dockerd.log').read_text()[-2000:]}"
            )
        saved = subprocess.Popen(["docker", "save", test_image], stdout=subprocess.PIPE, env=env)
        loaded = subprocess.run(
            ["docker", "-H", host, "load"], stdin=saved.stdout, capture_output=True, env=env
        )
        saved.wait(timeout=60)
        assert loaded.returncode == 0, loaded.stderr
        yield host
    finally:
        # its networks and containers are removed first, so that nothing of them is left behind
        # once the engine is gone
        for argv in (["rm", "-f", "-v", "--"], ["network", "rm", "--"]):
            listed = (
                ["ps", "-aq"] if argv[0] == "rm" else ["network", "ls", "-q", "-f", "type=custom"]
            )
            ids = subprocess.run(
                ["docker", "-H", host, *listed], capture_output=True, text=True, env=env
            ).stdout.split()
            if ids:
                subprocess.run(["docker", "-H", host, *argv, *ids], capture_output=True, env=env)
        os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait()
        log.close()
