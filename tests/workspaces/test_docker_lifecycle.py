"""create/up/down/status/ports/exec/logs/shell/delete against the real Docker engine."""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
import subprocess
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from nexus_cli.project import find_project
from tests.conftest import fold_telemetry, git, nexus_exe, run_nexus, run_process
from tests.workspaces.conftest import file_in_service

pytestmark = pytest.mark.docker


def last_event(home: Path) -> dict[str, Any]:
    fold_telemetry()
    db = sqlite3.connect(home / "nexus-home" / "telemetry.db")
    db.row_factory = sqlite3.Row
    row = dict(db.execute("SELECT * FROM events ORDER BY id DESC LIMIT 1").fetchone())
    db.close()
    row["raw"] = json.loads(row["raw_data"] or "{}")
    return row


def web_port(name: str) -> int:
    (row,) = run_nexus("workspace", "ports", name, "--json").json()
    return int(row["host_port"])


def test_create_runs_services_and_records_metrics(
    ws_project: Path, docker_client: Any, isolated_home: Path
) -> None:
    result = run_nexus("workspace", "create", "w1", "--template", "duo")
    assert result.exit_code == 0, result.stderr
    event = last_event(isolated_home)
    assert event["template_used"] == "custom"  # project templates' names stay private
    assert event["services_count"] == 2 and event["ports_used"] == 1
    metrics = event["raw"]["metrics"]
    assert metrics["port_allocation_attempts"] == 1
    assert {"worktree_creation_time_ms", "docker_pull_time_ms"} <= set(metrics)
    pid = find_project(ws_project).project_id()
    db = docker_client.containers.get(f"nexus-{pid}-w1-db")
    web = docker_client.containers.get(f"nexus-{pid}-w1-web")
    assert db.status == web.status == "running"
    assert db.labels["dev.nexus.project"] == pid and db.labels["dev.nexus.service"] == "db"
    assert db.attrs["State"]["Health"]["Status"] == "healthy"
    binding = web.attrs["NetworkSettings"]["Ports"]["8080/tcp"][0]
    assert binding["HostIp"] == "127.0.0.1"
    port = int(binding["HostPort"])
    assert port == web_port("w1")
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/hello.txt", timeout=5).read()
    assert body == b"hello from w1\n"

    status = run_nexus("workspace", "status", "w1", "--json").json()
    assert status["state"] == "running"
    assert {s["service"]: s["status"] for s in status["services"]} == {
        "db": "running",
        "web": "running",
    }


def test_exec_logs_hooks_and_git_inside(ws_project: Path) -> None:
    assert run_nexus("workspace", "create", "w2", "-t", "duo").exit_code == 0
    hook = run_nexus("workspace", "exec", "w2", "--", "cat", "/data/created-by-hook")
    assert hook.exit_code == 0 and hook.stdout == "created\n"
    code = run_nexus(
        "workspace", "exec", "w2", "-s", "web", "--", "sh", "-c", "echo out; echo err >&2; exit 7"
    )
    assert code.exit_code == 7
    assert code.stdout == "out\n" and code.stderr == "err\n"
    # The worktree's .git points into the repository's common dir, mounted at the same path.
    gitdir = run_nexus(
        "workspace", "exec", "w2", "--", "sh", "-c", "test -f \"$(cut -d' ' -f2 .git)/HEAD\""
    )
    assert gitdir.exit_code == 0, gitdir.stderr
    run_nexus(
        "workspace", "exec", "w2", "--", "sh", "-c", "echo log-line-$NEXUS_SERVICE > /proc/1/fd/1"
    )
    logs = run_nexus("workspace", "logs", "w2", "db")
    assert logs.exit_code == 0 and "log-line-db" in logs.stdout
    assert "db | log-line-db" in run_nexus("workspace", "logs", "w2").stdout
    missing = run_nexus("workspace", "exec", "w2", "-s", "nope", "--", "true")
    assert missing.exit_code == 1 and "no service 'nope'" in missing.stderr
    # `docker compose exec web ls` spelt here: the engine cannot run "web"; the hint says how
    typed = run_nexus("workspace", "exec", "w2", "web", "--", "ls", "-l")
    assert typed.exit_code == 126
    hint = "hint: 'web' is a service of 'w2': nexus workspace exec w2 --service web -- ls -l\n"
    assert typed.stderr.endswith(hint)
    assert not run_nexus("workspace", "exec", "w2", "no-such-program").stderr.count("hint:")


@pytest.mark.skipif(shutil.which("docker") is None, reason="needs the docker CLI")
def test_shell_runs_in_the_workspace(ws_project: Path) -> None:
    assert run_nexus("workspace", "create", "w3", "-t", "duo").exit_code == 0
    proc = run_process("workspace", "shell", "w3", "web", cwd=ws_project, input="pwd; exit 4\n")
    assert proc.returncode == 4, proc.stderr
    assert proc.stdout.strip() == "/workspace"


def test_down_then_up_keeps_ports_and_data(ws_project: Path, docker_client: Any) -> None:
    assert run_nexus("workspace", "create", "w4", "-t", "duo").exit_code == 0
    port = web_port("w4")
    run_nexus("workspace", "exec", "w4", "--", "sh", "-c", "echo kept > /data/file")
    down = run_nexus("workspace", "down", "w4")
    assert down.exit_code == 0 and "stopped 2 containers" in down.stderr
    assert run_nexus("workspace", "status", "w4", "--json").json()["state"] == "stopped"
    up = run_nexus("workspace", "up", "w4")
    assert up.exit_code == 0, up.stderr
    assert web_port("w4") == port
    assert file_in_service("w4", "/data/file") == "kept\n"
    starts = file_in_service("w4", "/data/starts")
    assert starts == "started\nstarted\n"  # post_start ran on create and on up
    assert file_in_service("w4", "/data/created-by-hook") == "created\n"  # post_create: once
    again = run_nexus("workspace", "up", "w4", "--json").json()
    assert again["started"] == [] and sorted(again["kept"]) == ["db", "web"]


def test_delete_removes_every_docker_object(ws_project: Path, docker_client: Any) -> None:
    assert run_nexus("workspace", "create", "w5", "-t", "duo").exit_code == 0
    pid = find_project(ws_project).project_id()
    label = {"label": [f"dev.nexus.project={pid}", "dev.nexus.workspace=w5"]}
    assert len(docker_client.volumes.list(filters=label)) == 1
    result = run_nexus("workspace", "delete", "w5", "--yes", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["removed"] == {"containers": 2, "networks": 1, "volumes": 1}
    assert docker_client.containers.list(all=True, filters=label) == []
    assert docker_client.networks.list(filters=label) == []
    assert docker_client.volumes.list(filters=label) == []
    assert run_nexus("workspace", "ports", "w5").exit_code == 1
    assert not (ws_project / ".nexus" / "worktrees" / "w5").exists()


def test_unhealthy_service_times_out_with_its_logs(
    ws_project: Path, isolated_home: Path, docker_client: Any
) -> None:
    folder = ws_project / ".nexus" / "templates"
    (folder / "sick.yaml").write_text(
        "services:\n  db:\n    image: nexus-test-busybox:latest\n"
        "    command: ['sh', '-c', 'echo starting-up; exec sleep 3600']\n"
        "    healthcheck: {test: 'false', interval: 100ms, retries: 100}\n"
    )
    result = run_nexus("workspace", "create", "sick", "-t", "sick", "--health-timeout", "1")
    assert result.exit_code == 1
    assert "service 'db' not healthy after 1s" in result.stderr
    assert "starting-up" in result.stderr
    assert last_event(isolated_home)["error_category"] == "health_timeout"
    # all or nothing: the failed create removed its worktree, branch, record and containers
    assert not (ws_project / ".nexus" / "worktrees" / "sick").exists()
    assert git(ws_project, "branch", "--list", "sick") == ""
    assert run_nexus("workspace", "list", "--json").json()["workspaces"] == []
    pid = find_project(ws_project).project_id()
    label = {"label": [f"dev.nexus.project={pid}", "dev.nexus.workspace=sick"]}
    assert docker_client.containers.list(all=True, filters=label) == []
    assert docker_client.networks.list(filters=label) == []


def test_bind_all_publishes_on_every_interface(ws_project: Path, docker_client: Any) -> None:
    assert run_nexus("workspace", "create", "w6", "-t", "duo", "--bind-all").exit_code == 0
    pid = find_project(ws_project).project_id()
    web = docker_client.containers.get(f"nexus-{pid}-w6-web")
    assert web.attrs["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostIp"] == "0.0.0.0"
    with socket.socket() as sock:
        sock.settimeout(3)
        sock.connect(("127.0.0.1", web_port("w6")))


def test_logs_follow_ends_when_the_container_goes(ws_project: Path) -> None:
    assert run_nexus("workspace", "create", "w7", "-t", "duo").exit_code == 0
    run_nexus("workspace", "exec", "w7", "--", "sh", "-c", "echo follow-me > /proc/1/fd/1")
    proc = subprocess.Popen(
        [*nexus_exe(), "workspace", "logs", "w7", "db", "--follow"],
        cwd=ws_project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "follow-me"
        assert run_nexus("workspace", "down", "w7").exit_code == 0
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()


def test_unpullable_image_is_one_clear_error(ws_project: Path) -> None:
    (ws_project / ".nexus" / "templates" / "nopull.yaml").write_text(
        "services:\n  x:\n    image: nexus-does-not-exist.invalid/none:1\n"
    )
    result = run_nexus("workspace", "create", "np", "-t", "nopull")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot pull image nexus-does-not-exist.invalid/none:1")
    assert "Traceback" not in result.stderr
    # nothing left behind, so the same create can be rerun (it used to say "already exists")
    assert not (ws_project / ".nexus" / "worktrees" / "np").exists()
    assert git(ws_project, "branch", "--list", "np") == ""
    again = run_nexus("workspace", "create", "np", "-t", "nopull")
    assert again.stderr.startswith("error: cannot pull image"), again.stderr
    kept = run_nexus("workspace", "create", "np", "-t", "nopull", "--keep-on-failure")
    assert kept.exit_code == 1
    assert run_nexus("workspace", "status", "np", "--json").json()["worktree"] == "ok"


def test_explicit_docker_host_is_honoured(ws_project: Path) -> None:
    from nexus_cli import engine

    env = {"DOCKER_HOST": engine.endpoint()[0]}  # the engine the tests use, named explicitly
    result = run_nexus("workspace", "create", "w8", "-t", "duo", env=env)
    assert result.exit_code == 0, result.stderr
    assert run_nexus("workspace", "status", "w8", "--json", env=env).json()["state"] == "running"


def test_no_start_then_up_runs_post_create_once(ws_project: Path) -> None:
    created = run_nexus("workspace", "create", "w9", "-t", "duo", "--no-start")
    assert created.exit_code == 0, created.stderr
    assert run_nexus("workspace", "status", "w9", "--json").json()["state"] == "stopped"
    assert run_nexus("workspace", "up", "w9").exit_code == 0
    assert run_nexus("workspace", "down", "w9").exit_code == 0
    assert run_nexus("workspace", "up", "w9").exit_code == 0
    assert file_in_service("w9", "/data/created-by-hook") == "created\n"
    starts = file_in_service("w9", "/data/starts")
    assert starts == "started\nstarted\n"


def test_up_replaces_a_leftover_container_of_the_same_name(
    ws_project: Path, docker_client: Any, test_image: str
) -> None:
    created = run_nexus("workspace", "create", "w10", "-t", "duo", "--no-start")
    assert created.exit_code == 0, created.stderr
    pid = find_project(ws_project).project_id()
    name = f"nexus-{pid}-w10-db"  # a container a killed run left, with the name create uses
    leftover = docker_client.containers.create(
        test_image, ["sleep", "600"], name=name, labels={"dev.nexus.project": pid}
    )
    up = run_nexus("workspace", "up", "w10")
    assert up.exit_code == 0, up.stderr
    db = docker_client.containers.get(name)
    assert db.id != leftover.id and db.status == "running"
    assert db.labels["dev.nexus.service"] == "db"


def test_a_container_of_that_name_that_is_not_the_project_s_is_never_removed(
    ws_project: Path, docker_client: Any, test_image: str
) -> None:
    """The name create uses, taken by a container of someone else's (no project label): create
    refuses and names it, instead of force-removing it, and leaves nothing of its own."""
    pid = find_project(ws_project).project_id()
    name = f"nexus-{pid}-w11-db"
    theirs = docker_client.containers.run(test_image, ["sleep", "600"], name=name, detach=True)
    try:
        created = run_nexus("workspace", "create", "w11", "-t", "duo")
        assert created.exit_code == 1
        assert f"a container named {name} is there and is not this project's" in created.stderr
        kept = docker_client.containers.get(name)
        assert kept.id == theirs.id and kept.status == "running"
        assert run_nexus("workspace", "list", "--json").json()["workspaces"] == []
    finally:
        theirs.remove(force=True)


def test_an_engine_out_of_network_addresses_is_one_clear_error(
    project: Path, test_image: str, small_pool_engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each workspace has a network of its own; an engine whose address pools are used up
    refuses one more (on a real engine whose pool holds one network, and it holds one already).
    The create says so in one line with the ways out, and undoes what it made."""
    import docker

    (project / ".nexus" / "templates").mkdir(parents=True)
    (project / ".nexus" / "templates" / "one.yaml").write_text(
        f"services:\n  app:\n    image: {test_image}\n    command: [sleep, '600']\n"
    )
    monkeypatch.setenv("DOCKER_HOST", small_pool_engine)
    client = docker.DockerClient(base_url=small_pool_engine)
    try:
        filler = client.networks.create(f"filler-{uuid.uuid4().hex[:12]}", driver="bridge")
        refused = run_nexus("workspace", "create", "np", "-t", "one")
        assert refused.exit_code == 1, refused.stderr
        lines = refused.stderr.splitlines()
        assert lines[0] == (
            "error: the Docker engine has no free network addresses left for this workspace's "
            "network (its default address pools are used up by other networks)"
        )
        assert lines[1].startswith("hint: delete workspaces you no longer use")
        for way_out in ("nexus workspace list", "docker network prune", "default-address-pools"):
            assert way_out in lines[1]
        assert len(lines) == 2 and "Traceback" not in refused.stderr
        assert not (project / ".nexus" / "worktrees" / "np").exists()
        assert git(project, "branch", "--list", "np") == ""
        assert run_nexus("workspace", "list", "--json").json()["workspaces"] == []
        assert [n.name for n in client.networks.list() if n.name.startswith("nexus-")] == []
        assert client.containers.list(all=True) == []
        # with the addresses given back, the same create works
        filler.remove()
        made = run_nexus("workspace", "create", "np", "-t", "one")
        assert made.exit_code == 0, made.stderr
        assert run_nexus("workspace", "delete", "np", "--force").exit_code == 0
    finally:
        client.close()
