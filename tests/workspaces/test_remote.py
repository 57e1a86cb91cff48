"""Workspaces on a remote Docker engine (nexus_cli/workspaces/remote.py, forwards, mounts), tested
against a second engine reachable only over SSH whose filesystem differs from this machine's
(the ``remote_engine`` fixture): a local bind mount would show an empty folder there."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nexus_cli import engine, engine_ssh, proc
from nexus_cli.errors import ConfigError
from nexus_cli.project import find_project
from nexus_cli.workspaces import docker_services, forwards
from nexus_cli.workspaces.docker_services import Bind, ServicePlan
from nexus_cli.workspaces.handle import Workspace
from nexus_cli.workspaces.service_model import ServiceSpec
from tests.conftest import git, nexus_exe, processes_marked, run_process
from tests.workspaces.conftest import (
    REMOTE_ENGINE_PORT,
    approve_template_hooks,
    remote_client,
    remove_project_objects,
)

pytestmark = pytest.mark.docker

TEMPLATE = """\
x-nexus:
  description: two services on a remote engine
  hooks:
    post_create:
      - service: web
        command: "echo hooked > /hooked"
services:
  reader:
    image: {image}
    command: ["sleep", "3600"]
    volumes: ["./docs:/docs:ro"]
  web:
    image: {image}
    command: ["httpd", "-f", "-p", "8080", "-h", "/workspace"]
    ports: ["8080"]
"""


@pytest.fixture
def remote_project(
    project: Path, test_image: str, remote_engine: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, Any]]:
    """A project whose template has two services, with DOCKER_HOST at the remote engine; every
    remote object labelled for it, and its forwards, are removed afterwards."""
    token = uuid.uuid4().hex
    (project / "remote.txt").write_text(f"from the worktree {token}\n")
    (project / "docs").mkdir()
    (project / "docs" / "guide.txt").write_text("guide\n")
    templates = project / ".nexus" / "templates"
    templates.mkdir(parents=True, exist_ok=True)
    (templates / "pair.yaml").write_text(TEMPLATE.format(image=test_image))
    approve_template_hooks(project, "pair")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "remote test files")
    monkeypatch.setenv("DOCKER_HOST", remote_engine)
    client = remote_client(remote_engine)
    project_id = Workspace(find_project(project), "far").project_id
    try:
        yield project, client
    finally:
        for forward in forwards.load():
            if forward.project_id == project_id:
                forwards.stop(project_id, forward.workspace)
        remove_project_objects(client, project_id)
        client.close()
        engine_ssh.close_all()


def _nexus(*args: str) -> Any:
    result = run_process(*args, timeout=240)
    assert result.returncode == 0, (args, result.returncode, result.stdout, result.stderr)
    return json.loads(result.stdout) if "--json" in args else result


def _exec(container: str, *argv: str) -> str:
    """``docker exec`` on the remote engine (the CLI: docker-py's exec over ssh:// breaks its
    pipe on close); "CODE:OUTPUT"."""
    done = subprocess.run(
        ["docker", "exec", container, *argv], capture_output=True, text=True, timeout=60
    )
    return f"{done.returncode}:{done.stdout}"


def test_a_workspace_on_a_remote_engine_gets_files_volumes_and_forwards(
    remote_project: tuple[Path, Any],
) -> None:
    root, client = remote_project
    created = _nexus("workspace", "create", "far", "-t", "pair", "--json")
    workspace = Workspace(find_project(root), "far")
    reader, web = workspace.container_name("reader"), workspace.container_name("web")

    # the files are in the containers, from volumes: no bind mount of any local path, no git dir
    expected = (root / "remote.txt").read_text()
    assert _exec(reader, "cat", "/workspace/remote.txt") == f"0:{expected}"
    assert _exec(reader, "cat", "/docs/guide.txt") == "0:guide\n"
    assert _exec(reader, "test", "-e", "/workspace/.git").startswith("1:")
    for name in (reader, web):
        mounts = client.containers.get(name).attrs["Mounts"]
        assert mounts and all(m["Type"] == "volume" for m in mounts), mounts

    # hooks and `workspace exec` (input, output, exit code) reach the remote containers
    assert _exec(web, "cat", "/hooked") == "0:hooked\n"
    execd = run_process(
        "workspace",
        "exec",
        "far",
        "--service",
        "web",
        "--",
        "sh",
        "-c",
        "cat; exit 3",
        input="hi\n",
    )
    assert (execd.returncode, execd.stdout) == (3, "hi\n"), execd.stderr

    # a command ended by SIGTERM while it works on the engine ends its ssh forward too
    token = uuid.uuid4().hex
    argv = [*nexus_exe(), "workspace", "exec", "far", "--service", "web", "--", "sleep", "60"]
    env = {**os.environ, "NEXUS_TEST_MARK": token}
    with subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL) as running:
        _wait_for(lambda: len(processes_marked(token)) >= 2)  # nexus and its ssh
        time.sleep(1)  # the exec has started in the container (at worst, the test ends sooner)
        running.send_signal(signal.SIGTERM)
        assert running.wait(timeout=60) == 143
    assert processes_marked(token) == []

    # the user is given a local port; it is forwarded (not the engine's own published port)
    [allocation] = created["ports"]
    local = allocation["host_port"]
    published = docker_services.published_ports(client.containers.get(web))[(8080, "tcp")]
    assert local != published
    [forward] = forwards.of_workspace(workspace.project_id, "far")
    assert (forward.local_port, forward.remote_port) == (local, published) and forward.alive()
    with urllib.request.urlopen(f"http://127.0.0.1:{local}/remote.txt", timeout=10) as answer:
        assert answer.read().decode() == expected

    status = _nexus("workspace", "status", "far", "--json")
    assert status["engine"] == {"endpoint": remote_project_host(), "remote": True, "kind": "ssh"}
    assert {s["service"]: s["ports"] for s in status["services"]}["web"] == {"8080/tcp": local}

    # a local edit reaches the container with `sync`; a change made inside comes back with --pull
    (workspace.worktree / "remote.txt").write_text("edited here\n")
    _nexus("workspace", "sync", "far")
    assert _exec(reader, "cat", "/workspace/remote.txt") == "0:edited here\n"
    _exec(web, "sh", "-c", "echo made > /workspace/inside.txt; echo inside > /workspace/remote.txt")
    refused = run_process("workspace", "sync", "far", "--pull")  # remote.txt: uncommitted here
    assert refused.returncode != 0 and "remote.txt" in refused.stderr, refused.stderr
    assert not (workspace.worktree / "inside.txt").exists()
    git(workspace.worktree, "commit", "-qam", "edit")
    pulled = _nexus("workspace", "sync", "far", "--pull", "--json")
    assert pulled["files"] == 2
    assert (workspace.worktree / "inside.txt").read_text() == "made\n"
    assert (workspace.worktree / "remote.txt").read_text() == "inside\n"

    # down ends the forward; up syncs again and forwards a local port again: the same one unless
    # something took it meanwhile (here the engine shares this machine's network, so a port it
    # publishes for the container on `up` may be that very one: then another is allocated)
    _nexus("workspace", "down", "far")
    assert not forward.alive() and forwards.of_workspace(workspace.project_id, "far") == []
    (workspace.worktree / "remote.txt").write_text("after down\n")
    up = _nexus("workspace", "up", "far", "--json")
    [local] = [a["host_port"] for a in up["ports"]]
    [again] = forwards.of_workspace(workspace.project_id, "far")
    assert again.alive() and again.local_port == local
    with urllib.request.urlopen(f"http://127.0.0.1:{local}/remote.txt", timeout=10) as answer:
        assert answer.read().decode() == "after down\n"

    # delete ends the forward and leaves nothing on the engine
    _nexus("workspace", "delete", "far", "--force")
    assert not again.alive() and forwards.of_workspace(workspace.project_id, "far") == []
    label = {"label": [f"dev.nexus.project={workspace.project_id}"]}
    assert client.containers.list(all=True, filters=label) == []
    assert client.networks.list(filters=label) == []
    assert client.volumes.list(filters=label) == []


def remote_project_host() -> str:
    return f"ssh://nexus-remote-engine-{REMOTE_ENGINE_PORT}"


def test_a_bind_mount_of_another_local_path_is_refused_on_a_remote_engine(
    project: Path, tmp_path: Path
) -> None:
    workspace = Workspace(find_project(project), "far")
    worktree = tmp_path / "worktree"
    worktree.mkdir()
    plan = ServicePlan(
        workspace=workspace,
        service=ServiceSpec(name="db", image="x"),
        worktree=worktree,
        git_common_dir=project / ".git",
        host_ports={},
        remote=True,
    )
    inside = docker_services.remote_mounts(plan, [Bind(str(worktree), "/workspace", False)])
    assert [m["Source"] for m in inside] == [workspace.volume_name("nexus-worktree")]
    with pytest.raises(ConfigError) as caught:
        docker_services.remote_mounts(plan, [Bind(str(project / ".git"), "/repo", True)])
    assert "service 'db'" in caught.value.message
    assert str(project / ".git") in caught.value.message
    assert "\n" not in caught.value.message


def _wait_for(condition: Any, timeout: float = 60) -> None:
    until = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < until, "timed out"
        time.sleep(0.05)


def test_one_ssh_forward_per_process_shared_restarted_and_ended(
    remote_engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """nexus_cli/engine_ssh.py against the engine behind sshd: no paramiko, no SDK ssh:// support."""
    monkeypatch.setenv("DOCKER_HOST", remote_engine)
    try:
        # threads (the MCP server's, a batch's) share one forward, in a process group of its own
        clients: list[Any] = []
        threads = [
            threading.Thread(target=lambda: clients.append(engine.connect())) for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(clients) == 4  # each on the forwarded socket, none with the SDK's ssh adapter
        assert {type(c.api.adapters["http+docker://"]).__name__ for c in clients} == {
            "UnixHTTPAdapter"
        }
        pid = engine_ssh.running_pid(remote_engine)
        assert pid is not None and os.getpgid(pid) == pid != os.getpgid(0)
        assert all(c.ping() for c in clients)
        # a forward whose ssh ended (the connection dropped) is started again on the next use
        proc.kill_group(pid)
        again = engine.connect()
        assert again.ping() and engine_ssh.running_pid(remote_engine) not in (None, pid)
    finally:
        engine_ssh.close_all()
    assert engine_ssh.running_pid(remote_engine) is None

    # a process that reached the engine through its forward leaves no ssh behind when it exits;
    # paramiko cannot be imported there (it need not be uninstalled for this test to mean that)
    token = uuid.uuid4().hex
    marked = {**os.environ, "DOCKER_HOST": remote_engine, "NEXUS_TEST_MARK": token}
    doctor = _nexus_without_paramiko(["doctor", "--json"], marked)
    [docker] = [c for c in json.loads(doctor.stdout)["checks"] if c["name"] == "docker"]
    assert docker["status"] == "ok", docker
    assert f"at {remote_engine} (DOCKER_HOST), remote (ssh: " in docker["detail"]
    assert "ssh (needed for ssh:// engines)" in docker["detail"]
    assert processes_marked(token) == []

    # a Nexus killed outright (SIGKILL) cannot end its ssh: the next forward started ends it
    killed = uuid.uuid4().hex
    code = (
        "import os, signal; from nexus_cli import engine, engine_ssh; engine.connect(); "
        f"print(engine_ssh.socket_url({remote_engine!r})[len('unix://'):], flush=True); "
        "os.kill(os.getpid(), signal.SIGKILL)"
    )
    left = proc.run([sys.executable, "-c", code], env={**marked, "NEXUS_TEST_MARK": killed})
    assert left.returncode == -signal.SIGKILL, left.stderr
    assert len(processes_marked(killed)) == 1  # its ssh, left running
    assert Path(left.stdout.strip()).parent.is_dir()
    _nexus_without_paramiko(["doctor", "--json"], marked)
    assert processes_marked(killed) == [] and not Path(left.stdout.strip()).parent.exists()
    assert processes_marked(token) == []

    # ... nor when the engine's socket is not there, which is one clear line
    missing = f"{remote_engine}/var/run/no-engine.sock"
    failed = _nexus_without_paramiko(["doctor", "--json"], {**marked, "DOCKER_HOST": missing})
    [docker] = [c for c in json.loads(failed.stdout)["checks"] if c["name"] == "docker"]
    assert docker["status"] == "warn", docker
    assert docker["detail"] == (
        f"Docker engine unavailable at {missing} (DOCKER_HOST): ssh logged in, but no engine "
        "answered at /var/run/no-engine.sock there"
    )
    assert "docker group" in docker["fix"]
    assert processes_marked(token) == []


def _nexus_without_paramiko(args: list[str], env: dict[str, str]) -> proc.Completed:
    """``nexus ARGS`` in a process where ``import paramiko`` fails, as in an install without it."""
    code = (
        "import sys; sys.modules['paramiko'] = None; "
        f"sys.argv = ['nexus', *{args!r}]; from nexus_cli.__main__ import run; run()"
    )
    done = proc.run([sys.executable, "-c", code], env=env, timeout=120)
    assert "Traceback" not in done.stderr, done.stderr
    return done
