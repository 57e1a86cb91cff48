"""The seed's failure-injection probes against the real engine."""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from nexus_cli.project import find_project
from tests.conftest import fold_telemetry, git, run_nexus

pytestmark = pytest.mark.docker

NO_ENGINE = {"DOCKER_HOST": "unix:///nonexistent.sock"}


def _signals(home: Path) -> list[dict[str, Any]]:
    fold_telemetry()
    db = sqlite3.connect(home / "nexus-home" / "telemetry.db")
    raw = db.execute("SELECT raw_data FROM events ORDER BY id DESC LIMIT 1").fetchone()[0]
    db.close()
    return list(json.loads(raw or "{}").get("signals", []))


def test_killed_container_comes_back_on_up(ws_project: Path, docker_client: Any) -> None:
    assert run_nexus("workspace", "create", "k", "-t", "duo").exit_code == 0
    pid = find_project(ws_project).project_id()
    port = run_nexus("workspace", "ports", "k", "--json").json()[0]["host_port"]
    docker_client.containers.get(f"nexus-{pid}-k-web").kill()
    status = run_nexus("workspace", "status", "k", "--json").json()
    assert status["state"] == "partial"
    assert {s["service"]: s["status"] for s in status["services"]}["web"] == "exited"
    up = run_nexus("workspace", "up", "k", "--json")
    assert up.exit_code == 0, up.stderr
    assert up.json()["started"] == ["web"] and up.json()["kept"] == ["db"]
    assert docker_client.containers.get(f"nexus-{pid}-k-web").status == "running"
    assert run_nexus("workspace", "ports", "k", "--json").json()[0]["host_port"] == port


def test_taken_host_port_makes_up_choose_another(ws_project: Path, isolated_home: Path) -> None:
    assert run_nexus("workspace", "create", "p", "-t", "duo").exit_code == 0
    old = run_nexus("workspace", "ports", "p", "--json").json()[0]["host_port"]
    assert run_nexus("workspace", "down", "p").exit_code == 0
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", old))
        squatter.listen()
        up = run_nexus("workspace", "up", "p")
        assert up.exit_code == 0, up.stderr
        assert f"port {old} of web is taken by another program; using" in up.stderr
        assert {"kind": "port_conflict", "port": old} in _signals(isolated_home)
    new = run_nexus("workspace", "ports", "p", "--json").json()[0]["host_port"]
    assert new != old
    assert run_nexus("workspace", "status", "p", "--json").json()["state"] == "running"


def test_worktree_deleted_by_hand_is_reported_and_repaired(ws_project: Path) -> None:
    assert run_nexus("workspace", "create", "r", "-t", "duo").exit_code == 0
    path = ws_project / ".nexus" / "worktrees" / "r"
    git(path, "add", "hello.txt")
    git(path, "commit", "-qm", "hello")
    git(ws_project, "worktree", "lock", str(path))
    shutil.rmtree(path, ignore_errors=True)
    view = run_nexus("workspace", "list", "--json").json()["workspaces"][0]
    assert view["state"] == "broken"
    assert "worktree entry is locked" in view["drift"]
    up = run_nexus("workspace", "up", "r")
    assert up.exit_code == 1 and "nexus workspace repair r" in up.stderr
    repaired = run_nexus("workspace", "repair")
    assert repaired.exit_code == 0, repaired.stderr
    assert "unlocked" in repaired.stderr and "cannot be restored" in repaired.stderr
    assert (path / "hello.txt").read_text() == "hello from r\n"
    assert run_nexus("workspace", "up", "r").exit_code == 0
    assert run_nexus("workspace", "status", "r", "--json").json()["state"] == "running"


def test_engine_down_gives_one_line_and_git_still_works(ws_project: Path) -> None:
    assert run_nexus("workspace", "create", "e", "-t", "duo").exit_code == 0
    up = run_nexus("workspace", "up", "e", env=NO_ENGINE)
    assert up.exit_code == 1
    first = up.stderr.splitlines()[0]
    assert first.startswith("error: Docker engine unavailable") and "DOCKER_HOST" in first
    assert "Traceback" not in up.stderr
    listed = run_nexus("workspace", "list", "--json", env=NO_ENGINE).json()
    assert "DOCKER_HOST" in listed["engine"]
    assert listed["workspaces"][0]["state"] == "unknown"
    assert run_nexus("workspace", "path", "e", env=NO_ENGINE).exit_code == 0
    status = run_nexus("workspace", "status", "e", env=NO_ENGINE)
    assert status.exit_code == 0 and "worktree: ok" in status.stdout
    assert run_nexus("workspace", "create", "side", env=NO_ENGINE).exit_code == 0
    assert run_nexus("workspace", "delete", "side", "--yes", env=NO_ENGINE).exit_code == 0


def test_list_shows_containers_without_a_record(ws_project: Path) -> None:
    assert run_nexus("workspace", "create", "o", "-t", "duo").exit_code == 0
    records = ws_project / ".nexus" / "state" / "workspaces.json"
    records.write_text('{"version": 1, "workspaces": []}\n')
    view = run_nexus("workspace", "list", "--json").json()["workspaces"][0]
    assert view["name"] == "o" and view["state"] == "untracked"
    assert any("no Nexus record" in d for d in view["drift"])
