"""Verification gates with real commands: pass, fail, timeout, truncation, cannot start."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexus_cli.errors import NexusError
from nexus_cli.project import find_project
from nexus_cli.tasks.gates import (
    GateResult,
    detect_default_gates,
    run_gate,
    run_in_container,
    run_on_host,
)
from nexus_cli.tasks.model import Gate, Task
from tests.conftest import run_nexus
from tests.tasks.conftest import gate_fields, last_event, new_task, ok, show


def _started(*args: str) -> str:
    task_id = new_task("Gated", *args)
    ok("task", "start", task_id)
    return task_id


def _gate_runs(task_id: str) -> list[dict[str, object]]:
    return [h for h in show(task_id)["history"] if h["action"] == "gate_run"]


def test_passing_and_failing_scripts(tasks_project: Path) -> None:
    (tasks_project / "pass.sh").write_text("echo all good\n")
    (tasks_project / "fail.sh").write_text(
        "echo checking\necho 'boom: 2 tests failed' >&2\nexit 7\n"
    )
    task_id = _started("--gate", "sh pass.sh", "--gate", "sh fail.sh")
    for _ in range(2):  # every time, not just once
        result = run_nexus("task", "complete", task_id)
        assert result.exit_code == 3, result.stderr
        assert "PASS  sh pass.sh" in result.stderr
        assert "FAIL  sh fail.sh  (exit 7" in result.stderr
        assert "boom: 2 tests failed" in result.stderr
        assert "stays in_progress" in result.stderr
        assert show(task_id)["status"] == "in_progress"
    runs = _gate_runs(task_id)
    failed = [r for r in runs if not r["passed"]]
    assert len(failed) == 2 and failed[0]["exit_code"] == 7
    assert "boom: 2 tests failed" in str(failed[0]["output_tail"])
    assert all("output_tail" not in r for r in runs if r["passed"])
    signals = last_event("task complete")["raw"]["signals"]
    gate_runs = [s for s in signals if s["kind"] == "gate_run"]
    assert [g["passed"] for g in gate_runs] == [True, False]
    assert gate_runs[1]["exit_code"] == 7 and gate_runs[1]["timed_out"] is False


def test_timeout_fails_the_gate(tasks_project: Path) -> None:
    task_id = new_task("Slow", "--gate", "sleep 5", "--gate-timeout", "1")
    ok("task", "start", task_id)
    result = run_nexus("task", "complete", task_id)
    assert result.exit_code == 3
    assert "gate failed: `sleep 5` (timed out after 1s)" in result.stderr  # not "(exit -1)"
    run = _gate_runs(task_id)[-1]
    assert run["timed_out"] is True and run["passed"] is False
    assert int(str(run["duration_ms"])) < 4000


def test_output_is_truncated_to_the_last_50_lines(tasks_project: Path) -> None:
    task_id = _started("--gate", "for i in $(seq 1 120); do echo line$i; done; exit 1")
    assert run_nexus("task", "complete", task_id).exit_code == 3
    tail = str(_gate_runs(task_id)[-1]["output_tail"]).splitlines()
    assert len(tail) == 50
    assert tail[0] == "line71" and tail[-1] == "line120"


def test_a_gate_that_cannot_start_fails(tasks_project: Path) -> None:
    task_id = _started("--gate", "definitely-not-a-command-xyz")
    result = run_nexus("task", "complete", task_id)
    assert result.exit_code == 3
    assert "exit 127" in result.stderr
    assert show(task_id)["status"] == "in_progress"


def test_missing_docker_engine_is_a_failed_gate(
    tasks_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    task_id = _started("--gate", "true", "--in", "app", "--workspace", "feat")
    result = run_nexus("task", "complete", task_id)
    assert result.exit_code == 3
    assert "did not start" in result.stderr and "Docker engine unavailable" in result.stderr
    assert show(task_id)["status"] == "in_progress"


def test_verify_runs_gates_without_changing_status(tasks_project: Path) -> None:
    task_id = new_task("Check", "--gate", "true")
    result = ok("task", "verify", task_id, "--json")
    assert result.json()["passed"] is True
    assert show(task_id)["status"] == "open"
    failing = new_task("Check fail", "--gate", "false")
    assert run_nexus("task", "verify", failing).exit_code == 3
    assert show(failing)["status"] == "open"


def test_gates_run_in_the_workspace_worktree(tasks_project: Path) -> None:
    worktree = tasks_project / ".nexus" / "worktrees" / "feat"
    worktree.mkdir(parents=True)
    (worktree / "marker").write_text("x")
    task_id = _started("--gate", "test -f marker", "--workspace", "feat")
    ok("task", "complete", task_id)
    other = _started("--gate", "test -f marker")
    assert run_nexus("task", "complete", other).exit_code == 3


def test_require_gate_setting(tasks_project: Path) -> None:
    config = tasks_project / ".nexus" / "config.yaml"
    config.write_text(config.read_text().replace("require_gate: false", "require_gate: true"))
    result = run_nexus("task", "create", "No gate")
    assert result.exit_code == 2 and "requires a verification gate" in result.stderr
    new_task("Has gate", "--gate", "true")


def test_default_gates_are_detected(tasks_project: Path) -> None:
    (tasks_project / "Makefile").write_text("test:\n\ttrue\n")
    (tasks_project / "go.mod").write_text("module x\n")
    result = run_nexus("task", "create", "Detected", "--json")
    assert result.exit_code == 0
    assert "gates detected" in result.stderr
    assert [g["command"] for g in result.json()["gates"]] == ["go test ./...", "make test"]
    overridden = new_task("Override", "--gate", "true")
    assert [g["command"] for g in show(overridden)["gates"]] == ["true"]


def test_detect_default_gates(tmp_path: Path) -> None:
    assert detect_default_gates(tmp_path) == []
    (tmp_path / "pyproject.toml").write_text("[tool.pytest.ini_options]\n")
    (tmp_path / "package.json").write_text('{"scripts": {"test": "jest"}}')
    (tmp_path / "Cargo.toml").write_text("")
    assert detect_default_gates(tmp_path) == ["python -m pytest -q", "npm test", "cargo test"]


@pytest.mark.usefixtures("answering_terminal")  # typed by a person: approved by that act
def test_gate_add_and_bad_config(tasks_project: Path) -> None:
    task_id = new_task("Later gate")
    ok("task", "gate", "add", task_id, "false", "--timeout", "5")
    ok("task", "start", task_id)
    assert run_nexus("task", "complete", task_id).exit_code == 3
    (tasks_project / ".nexus" / "config.yaml").write_text("tasks: [unclosed\n")
    result = run_nexus("task", "complete", task_id)
    assert result.exit_code == 1 and "config.yaml" in result.stderr


def test_run_on_host_missing_directory(tmp_path: Path) -> None:
    result = run_on_host(Gate("true"), tmp_path / "missing")
    assert result.passed is False and result.started is False


def test_interrupted_complete_goes_back_to_work(tasks_project: Path) -> None:
    import signal
    import subprocess
    import time

    from tests.conftest import nexus_exe

    task_id = _started("--gate", "sleep 30")
    proc = subprocess.Popen(
        [*nexus_exe(), "task", "complete", task_id],
        cwd=tasks_project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while show(task_id)["status"] != "verifying" and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    data = show(task_id)
    assert data["status"] == "in_progress"
    assert data["history"][-1]["reason"] == "gates interrupted"


# --- the result of a gate, field by field --------------------------------------------------------


def test_gate_result_to_dict() -> None:
    gate = Gate("make check", 9, "db")
    result = GateResult(gate, True, 4, 1234, True, "tail", "here", started=False)
    assert result.to_dict() == {
        "command": "make check",
        "service": "db",
        "passed": True,
        "exit_code": 4,
        "duration_ms": 1234,
        "timed_out": True,
        "started": False,
        "where": "here",
        "output_tail": "tail",
    }


def test_run_on_host_reports_every_field(tmp_path: Path) -> None:
    gate = Gate("sleep 0.3; echo one; echo two >&2; exit 3", timeout_s=30)
    result = run_on_host(gate, tmp_path)
    assert result.gate is gate
    data = gate_fields(result)
    assert 300 <= int(str(data.pop("duration_ms"))) < 10_000
    assert data == {
        "passed": False,
        "exit_code": 3,
        "timed_out": False,
        "started": True,
        "where": str(tmp_path),
        "output_tail": "one\ntwo",
    }
    passing = run_on_host(Gate("echo fine"), tmp_path)
    assert (passing.passed, passing.exit_code, passing.output_tail) == (True, 0, "fine")


def test_a_gate_that_does_not_start_reports_why(tmp_path: Path) -> None:
    blank = Gate("   ")
    result = run_on_host(blank, tmp_path)
    assert result.gate is blank
    assert gate_fields(result) == {
        "passed": False,
        "exit_code": -1,
        "duration_ms": 0,
        "timed_out": False,
        "started": False,
        "where": str(tmp_path),
        "output_tail": "cannot start gate: its command is blank",
    }
    gate = Gate("true")
    missing = run_on_host(gate, tmp_path / "missing")
    assert missing.gate is gate and missing.where == str(tmp_path / "missing")
    assert missing.output_tail.startswith("cannot start gate: ")
    assert "missing" in missing.output_tail and missing.started is False


def test_a_service_gate_needs_a_valid_workspace_and_service(tasks_project: Path) -> None:
    project = find_project()
    gate = Gate("true", service="app")
    result = run_gate(project, Task("nx-abcd", "t"), gate)
    assert result.gate is gate
    assert gate_fields(result) == {
        "passed": False,
        "exit_code": -1,
        "duration_ms": 0,
        "timed_out": False,
        "started": False,
        "where": "container app of workspace None",
        "output_tail": "gate runs in a service but the task has no workspace",
    }
    with pytest.raises(NexusError) as bad_ws:
        run_in_container(project, Task("nx-abcd", "t", workspace="no good"), gate)
    assert bad_ws.value.message.startswith("task nx-abcd: invalid workspace name")
    with pytest.raises(NexusError) as bad_service:
        run_in_container(project, Task("nx-abcd", "t", workspace="ws"), Gate("true", 5, "../x"))
    assert bad_service.value.message.startswith("task nx-abcd: invalid service name")


def test_detect_pytest_npm_and_make_markers(tmp_path: Path) -> None:
    for marker in ("pytest.ini", "conftest.py"):
        folder = tmp_path / marker.replace(".", "_")
        folder.mkdir()
        (folder / marker).write_text("")
        assert detect_default_gates(folder) == ["python -m pytest -q"]
    (tmp_path / "package.json").write_text('{"scripts": ["test"]}')
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "Makefile").write_text("build:\n\ttrue\n")
    assert detect_default_gates(tmp_path) == []
    (tmp_path / "package.json").write_text('["not", "an", "object"]')
    assert detect_default_gates(tmp_path) == []


def test_detection_reads_utf8_whatever_the_locale(tmp_path: Path) -> None:
    import locale

    (tmp_path / "pyproject.toml").write_text("# café\n[tool.pytest.ini_options]\n", "utf-8")
    package = '{"description": "café", "scripts": {"test": "jest"}}'
    (tmp_path / "package.json").write_text(package, "utf-8")
    previous = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")  # an ASCII locale: the files are still read as UTF-8
    try:
        assert detect_default_gates(tmp_path) == ["python -m pytest -q", "npm test"]
    finally:
        locale.setlocale(locale.LC_CTYPE, previous)
