from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from nexus_cli import paths
from nexus_cli.workspaces import forwards
from tests.conftest import run_nexus, run_process
from tests.gpu.conftest import make_gpu, write_fake_nvml


def test_doctor_json_is_valid_and_lists_every_check(project: Path) -> None:
    result = run_nexus("doctor", "--json")
    data = result.json()
    names = {c["name"] for c in data["checks"]}
    assert {"git", "docker", "nvml", "mcp", "state:user", "db:telemetry", "state:project"} <= names
    assert result.exit_code == (0 if data["ok"] else 1)
    assert data["ok"] is True
    for check in data["checks"]:
        assert check["status"] in ("ok", "warn", "fail")
        if check["status"] != "ok":
            assert check["fix"], check


def test_doctor_fails_on_a_corrupt_database(project: Path) -> None:
    run_nexus("version")
    db = paths.telemetry_db_path()
    for extra in db.parent.glob("telemetry.db-*"):
        extra.unlink()
    db.write_bytes(b"garbage" * 1000)
    result = run_nexus("doctor", "--json")
    assert result.exit_code == 1
    failing = [c for c in result.json()["checks"] if c["status"] == "fail"]
    assert [c["name"] for c in failing] == ["db:telemetry"]
    assert "mv " in failing[0]["fix"]


def test_doctor_reports_an_engine_that_is_down(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/nothing.sock")
    result = run_nexus("doctor", "--json")
    docker = next(c for c in result.json()["checks"] if c["name"] == "docker")
    assert docker["status"] == "warn"
    assert "DOCKER_HOST" in docker["detail"]
    assert (
        result.exit_code == 0
    )  # Docker is not essential: bare workspaces and tasks work without it


def test_doctor_reports_an_ssh_engine_it_cannot_reach_with_ssh_s_words(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as held:  # bound, not listening: a connection is refused
        held.bind(("127.0.0.1", 0))
        host = f"ssh://127.0.0.1:{held.getsockname()[1]}"
        monkeypatch.setenv("DOCKER_HOST", host)
        result = run_process("doctor", "--json")
    docker = next(c for c in json.loads(result.stdout)["checks"] if c["name"] == "docker")
    assert docker["status"] == "warn"
    assert docker["detail"].startswith(f"cannot reach the Docker engine at {host} over ssh: ssh: ")
    assert "Connection refused" in docker["detail"] and "BatchMode" in docker["fix"]


def test_doctor_table_for_people(project: Path) -> None:
    result = run_nexus("doctor")
    assert "git" in result.stdout and "db:telemetry" in result.stdout
    assert "\x1b[" not in result.stdout and "╭" not in result.stdout


def test_doctor_checks_the_mcp_sdk(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    present = next(c for c in run_nexus("doctor", "--json").json()["checks"] if c["name"] == "mcp")
    assert present["status"] == "ok" and present["detail"].startswith("MCP SDK ")
    monkeypatch.setitem(sys.modules, "mcp", None)  # the import system now finds no MCP SDK
    result = run_nexus("doctor", "--json")
    missing = next(c for c in result.json()["checks"] if c["name"] == "mcp")
    assert missing["status"] == "warn" and missing["essential"] is False
    assert missing["fix"].startswith("install the MCP SDK with: ") and "mcp" in missing["fix"]
    assert result.exit_code == 0  # a warning, not a failure


def test_doctor_fails_on_a_tampered_worktree_pointer(project: Path) -> None:
    """Issue 25, cause 2: a worktree's .git file rewritten to another git dir."""
    assert run_nexus("workspace", "create", "w").exit_code == 0
    dotgit = project / ".nexus" / "worktrees" / "w" / ".git"
    original = dotgit.read_text()
    assert _pointer_check(project)["status"] == "ok"
    dotgit.write_text(f"gitdir: {project / '.git'}\n")  # a real git dir, but not its own
    check = _pointer_check(project)
    assert check["status"] == "fail" and "w" in check["detail"]
    assert check["fix"] == "nexus workspace repair w"
    assert run_nexus("workspace", "repair", "w").exit_code == 0
    assert dotgit.read_text() == original
    assert _pointer_check(project)["status"] == "ok"


def _pointer_check(project: Path) -> dict[str, str]:
    checks = run_nexus("doctor", "--json").json()["checks"]
    (check,) = [c for c in checks if c["name"] == "worktrees:git-pointers"]
    return dict(check)


def test_doctor_asks_nvml_through_the_gpu_adapter(project: Path, tmp_path: Path) -> None:
    """The adapter's JSON fake answers: two GPUs (a MIG slice is not a third) and the driver."""
    env = write_fake_nvml(
        tmp_path / "nvml.json",
        [make_gpu("0"), make_gpu("1"), make_gpu("0:0", is_mig=True, parent_index="0")],
    )
    out = run_process("doctor", "--json", cwd=project, env=env)
    nvml_check = next(c for c in json.loads(out.stdout)["checks"] if c["name"] == "nvml")
    assert nvml_check == {
        "name": "nvml",
        "status": "ok",
        "detail": "2 GPUs, driver 550.54.15",
        "essential": False,
        "fix": None,
    }


def test_doctor_without_nvml_warns_with_the_adapters_hint(project: Path, tmp_path: Path) -> None:
    (tmp_path / "nvml.json").write_text("{not json")
    env = {"NEXUS_NVML_FAKE": str(tmp_path / "nvml.json")}
    out = run_process("doctor", "--json", cwd=project, env=env)
    nvml_check = next(c for c in json.loads(out.stdout)["checks"] if c["name"] == "nvml")
    assert nvml_check["status"] == "warn" and not nvml_check["essential"]
    assert nvml_check["detail"].startswith("NEXUS_NVML_FAKE: cannot read ")
    assert nvml_check["detail"].endswith("; GPU commands give CPU-side results only")
    assert nvml_check["fix"]
    assert out.returncode == 0


@pytest.mark.docker
def test_doctor_says_the_engine_is_local(project: Path) -> None:
    checks = {c["name"]: c for c in run_nexus("doctor", "--json").json()["checks"]}
    assert checks["docker"]["detail"].endswith(", local")
    assert checks["forwards"] == {
        "name": "forwards",
        "status": "ok",
        "detail": "none (the engine is local)",
        "essential": False,
        "fix": None,
    }


def test_doctor_warns_of_a_stale_port_forward(project: Path) -> None:

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    with forwards._editing() as recorded:
        recorded.append(forwards.Forward("p1", "far", "web", 80, 41000, 32768, gone.pid, "ssh://b"))
    check = next(
        c for c in run_nexus("doctor", "--json").json()["checks"] if c["name"] == "forwards"
    )
    assert check["status"] == "warn"
    assert "far (127.0.0.1:41000)" in check["detail"] and "repair" in check["fix"]
