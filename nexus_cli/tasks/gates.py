"""Running verification gates: on the host (workspace worktree or project root) or in a container.

A gate passes only when its command ran and exited 0. A command that cannot start, times out, or
whose container is missing counts as failed — never as passed.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nexus_cli import engine, jsonio, proc, validate
from nexus_cli.errors import CannotStartError, NexusError
from nexus_cli.project import Project
from nexus_cli.tasks.model import Gate, Task
from nexus_cli.tasks.workdir import gate_directory
from nexus_cli.workspaces.handle import Workspace

TAIL_LINES = 50
# Every process of a host gate that `task complete` runs carries its run's mark in this variable
# (``TASK-ID:TOKEN``, the token of the operation that moved the task to verifying), so that a
# later `complete` that takes over a verification whose process was killed outright can end the
# gate it left running (:func:`end_left_running`) before it runs the gates again.
RUN_MARK = "NEXUS_GATE_RUN"


@dataclass
class GateResult:
    gate: Gate
    passed: bool
    exit_code: int
    duration_ms: int
    timed_out: bool
    output_tail: str
    where: str
    started: bool = True
    receipt: dict[str, Any] | None = None  # a passing run's receipt (tasks/receipts.py)
    tree: str | None = None  # a failing run's tree id (tasks/receipts.py), for flakiness

    def to_dict(self) -> dict[str, Any]:
        data = {
            "command": self.gate.command,
            "service": self.gate.service,
            "passed": self.passed,
            "exit_code": self.exit_code,
            "duration_ms": self.duration_ms,
            "timed_out": self.timed_out,
            "started": self.started,
            "where": self.where,
            "output_tail": self.output_tail,
        }
        if self.gate.wait is not None:  # a waiting gate: nothing ran; output_tail is the reason
            data["wait"] = self.gate.wait
        return data


def waited(gate: Gate, satisfied: bool, reason: str) -> GateResult:
    """A waiting gate's result (:mod:`nexus_cli.tasks.waits`): nothing started; the reason is
    its output."""
    return GateResult(
        gate, satisfied, 0 if satisfied else -1, 0, False, reason, "waiting gate", False
    )


def tail(text: str, lines: int = TAIL_LINES) -> str:
    return "\n".join(text.splitlines()[-lines:])


def run_on_host(gate: Gate, cwd: Path, mark: str | None = None) -> GateResult:
    """Run ``gate`` with ``sh -c`` in ``cwd``, in a new session whose whole process group is
    ended when the shell exits, times out or is interrupted (see :mod:`nexus_cli.proc`); with
    ``mark``, its processes carry it in :data:`RUN_MARK`."""
    if not gate.command.strip():
        return _not_started(gate, str(cwd), "cannot start gate: its command is blank")
    start = time.monotonic()
    try:
        done = proc.run(
            ["/bin/sh", "-c", gate.command],
            cwd=cwd,
            env=None if mark is None else {**os.environ, RUN_MARK: mark},
            timeout=gate.timeout_s,
            new_session=True,
            merge_stderr=True,
        )
    except CannotStartError as exc:
        return _not_started(gate, str(cwd), f"cannot start gate: {exc.message}")
    ms = int((time.monotonic() - start) * 1000)
    if done.timed_out:
        output = f"{done.stdout}\n[nexus] gate timed out after {gate.timeout_s:g}s"
        return GateResult(gate, False, -1, ms, True, tail(output), str(cwd))
    passed = done.returncode == 0
    return GateResult(gate, passed, done.returncode, ms, False, tail(done.stdout), str(cwd))


def _not_started(gate: Gate, where: str, message: str) -> GateResult:
    return GateResult(gate, False, -1, 0, False, message, where, started=False)


def run_in_container(project: Project, task: Task, gate: Gate) -> GateResult:
    """Run ``gate`` in the workspace container of ``gate.service`` (found by its labels)."""
    where = f"container {gate.service} of workspace {task.workspace}"
    if not task.workspace:
        return _not_started(gate, where, "gate runs in a service but the task has no workspace")
    workspace = Workspace(project, task.workspace, source=f"task {task.id}")
    validate.service_name(gate.service, source=f"task {task.id}")

    try:
        client = engine.connect()
    except NexusError as exc:
        return _not_started(gate, where, f"cannot start gate: {exc.message}")
    labels = workspace.label_filters(gate.service)
    found = client.containers.list(filters={"label": labels, "status": "running"})
    if not found:
        return _not_started(gate, where, f"cannot start gate: no running container for {where}")
    return _exec_with_timeout(found[0], gate, where)


def _exec_with_timeout(container: Any, gate: Gate, where: str) -> GateResult:
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = container.exec_run(["sh", "-c", gate.command], demux=False)
        except Exception as exc:
            box["error"] = exc

    start = time.monotonic()
    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(gate.timeout_s)
    ms = int((time.monotonic() - start) * 1000)
    if worker.is_alive():
        message = f"[nexus] gate timed out after {gate.timeout_s}s"
        return GateResult(gate, False, -1, ms, True, message, where)
    if "error" in box:
        return _not_started(gate, where, f"cannot start gate: {box['error']}")
    code = int(box["result"].exit_code)
    output = (box["result"].output or b"").decode("utf-8", "replace")
    return GateResult(gate, code == 0, code, ms, False, tail(output), where)


def run_gate(
    project: Project, task: Task, gate: Gate, owner_token: str | None = None
) -> GateResult:
    """Run one command gate; on the host, marked as the run of ``owner_token`` when given."""
    if gate.service:
        return run_in_container(project, task, gate)
    mark = None if owner_token is None else run_mark(task.id, owner_token)
    return run_on_host(gate, gate_directory(project, task), mark)


def run_mark(task_id: str, owner_token: str) -> str:
    return f"{task_id}:{owner_token}"


def end_left_running(task_id: str, owner_token: str) -> int:
    """End what the host gates of ``task_id``'s run by ``owner_token`` left running on this host
    (that run was killed outright); how many of its processes were found."""
    return proc.end_marked(f"{RUN_MARK}={run_mark(task_id, owner_token)}")


def detect_default_gates(root: Path) -> list[str]:
    """Test commands a project's files suggest: pytest, npm test, go test, cargo test, make test."""
    found: list[str] = []
    if (
        (root / "pytest.ini").is_file()
        or (root / "conftest.py").is_file()
        or _pyproject_pytest(root)
    ):
        found.append("python -m pytest -q")
    if _npm_has_test(root / "package.json"):
        found.append("npm test")
    if (root / "go.mod").is_file():
        found.append("go test ./...")
    if (root / "Cargo.toml").is_file():
        found.append("cargo test")
    if _make_has_test(root / "Makefile"):
        found.append("make test")
    return found


def _pyproject_pytest(root: Path) -> bool:
    path = root / "pyproject.toml"
    try:
        return "[tool.pytest" in path.read_text(encoding="utf-8")
    except OSError:
        return False


def _npm_has_test(path: Path) -> bool:
    try:
        scripts = jsonio.loads(path.read_text(encoding="utf-8")).get("scripts") or {}
    except (OSError, ValueError, AttributeError):
        return False
    return isinstance(scripts, dict) and "test" in scripts


def _make_has_test(path: Path) -> bool:
    try:
        return any(line.startswith("test:") for line in path.read_text().splitlines())
    except OSError:
        return False
