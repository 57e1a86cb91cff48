"""The approvals core: per task and per exact command, kept outside the repository, asked of a
person on /dev/tty only; the user's trust rules cover plain commands only."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from nexus_cli.errors import ConfigError, NoTerminalError, StateError
from nexus_cli.project import find_project
from nexus_cli.tasks import approvals
from nexus_cli.tasks.model import Gate, Task
from tests.conftest import git, run_nexus


def _task(task_id: str, *commands: str) -> Task:
    return Task(id=task_id, title="t", gates=[Gate(c) for c in commands])


def _trust(home: Path, text: str) -> None:
    config = home / "config"
    config.mkdir(exist_ok=True)
    (config / "trust.yaml").write_text(text)


@pytest.fixture
def config_home(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NEXUS_CONFIG_HOME", str(isolated_home / "config"))
    return isolated_home


def test_the_hash_is_the_command_and_service_not_the_timeout() -> None:
    assert approvals.gate_hash(Gate("pytest", 10)) == approvals.gate_hash(Gate("pytest", 99))
    assert approvals.gate_hash(Gate("pytest")) != approvals.gate_hash(Gate("pytest "))
    assert approvals.gate_hash(Gate("pytest")) != approvals.gate_hash(Gate("pytest", 10, "db"))
    assert len(approvals.gate_hash(Gate("x"))) == 64


def test_an_approval_is_per_task_and_per_exact_command(project: Path) -> None:
    where = find_project()
    one, two = _task("nx-one1", "pytest -q"), _task("nx-two2", "pytest -q")
    assert approvals.pending(where, one) == one.gates
    approvals.approve(where, one.id, one.gates, how="terminal")
    assert approvals.pending(where, one) == []
    assert approvals.pending(where, two) == two.gates  # another task: not approved
    found = approvals.approval_for(where, one.id, Gate("pytest -q"))
    assert found is not None and found.how == "terminal" and found.at
    changed = _task("nx-one1", "pytest -q", "curl x | sh")
    assert approvals.pending(where, changed) == [Gate("curl x | sh")]
    assert approvals.previous_commands(where, one.id) == ["pytest -q"]
    approvals.forget(where, [one.id])
    assert approvals.pending(where, one) == one.gates


def test_approvals_live_in_nexus_home_private_never_in_the_repository(project: Path) -> None:
    where = find_project()
    approvals.approve(where, "nx-abc1", [Gate("true")], how="created")
    files = list((Path(os.environ["NEXUS_HOME"]) / "approvals").glob("*.json"))
    assert len(files) == 1 and stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert approvals.project_key(where) in files[0].name
    assert "approvals" not in git(project, "status", "--porcelain", "--ignored")


def test_another_clone_of_the_same_repository_shares_no_approval(
    project: Path, tmp_path: Path
) -> None:
    where = find_project()
    approvals.approve(where, "nx-abc1", [Gate("true")], how="created")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "tasks")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(project), str(clone))
    other = find_project(clone)
    assert approvals.project_key(other) != approvals.project_key(where)
    assert approvals.approval_for(other, "nx-abc1", Gate("true")) is None


def test_a_corrupt_approvals_file_is_a_clear_state_error(project: Path) -> None:
    where = find_project()
    approvals.approve(where, "nx-abc1", [Gate("true")], how="created")
    path = next((Path(os.environ["NEXUS_HOME"]) / "approvals").glob("*.json"))
    path.write_text("{not json")
    with pytest.raises(StateError, match="cannot read gate approvals"):
        approvals.pending(find_project(), _task("nx-abc1", "true"))


def test_a_task_is_not_made_when_its_approval_cannot_be_recorded(project: Path) -> None:
    """Creating a task approves its gates: with the approvals store damaged, the create fails
    before the task exists (a retry does not make a second one)."""
    approvals.approve(find_project(), "nx-abc1", [Gate("true")], how="created")
    path = next((Path(os.environ["NEXUS_HOME"]) / "approvals").glob("*.json"))
    path.write_text("{not json")
    result = run_nexus("task", "create", "Half", "--gate", "true")
    assert result.exit_code == 1 and "cannot read gate approvals" in result.stderr
    assert run_nexus("task", "list", "--json").json() == []


def test_a_trust_rule_covers_plain_commands_only(project: Path, config_home: Path) -> None:
    _trust(config_home, "rules:\n  - project: '*'\n    commands: ['pytest *', 'npm test']\n")
    where = find_project()
    covered = approvals.approval_for(where, "nx-any1", Gate("pytest -q tests/"))
    assert covered is not None and covered.how == "rule" and covered.rule == "*: pytest *"
    assert approvals.approval_for(where, "nx-any1", Gate("npm test")) is not None
    for evil in (
        "pytest; touch x",
        "pytest && curl x",
        "pytest | sh",
        "pytest $(touch x)",
        "pytest `touch x`",
        "pytest > /etc/x",
        "pytest\ntouch x",
        "npm test; touch x",
        "npm testx",
    ):
        assert approvals.approval_for(where, "nx-any1", Gate(evil)) is None, evil


def test_a_trust_rule_for_another_project_does_not_apply(
    project: Path, config_home: Path, tmp_path: Path
) -> None:
    _trust(config_home, f"rules:\n  - project: {tmp_path / 'elsewhere'}\n    commands: ['*']\n")
    assert approvals.approval_for(find_project(), "nx-any1", Gate("true")) is None
    _trust(config_home, f"rules:\n  - project: {project}\n    commands: ['true']\n")
    assert approvals.approval_for(find_project(), "nx-any1", Gate("true")) is not None


def test_a_malformed_trust_file_names_the_key(project: Path, config_home: Path) -> None:
    _trust(config_home, "rules:\n  - commands: ['x']\n")
    with pytest.raises(ConfigError, match=r"rules\[0\]"):
        approvals.approval_for(find_project(), "nx-any1", Gate("true"))


def test_a_gate_a_person_approved_reads_no_trust_rule(project: Path, config_home: Path) -> None:
    """The rules are read when a gate without an approval needs them, not before: a broken
    trust file stops only the gates that would depend on it."""
    _trust(config_home, "rules:\n  - commands: ['x']\n")
    where = find_project()
    approvals.approve(where, "nx-abc1", [Gate("true")], how="created")
    book = approvals.Book(where)
    assert book.pending(_task("nx-abc1", "true")) == []
    approval = book.approval_for("nx-abc1", Gate("true"))
    assert approval is not None and approval.how == "created"
    with pytest.raises(ConfigError, match=r"rules\[0\]"):
        book.pending(_task("nx-abc1", "true", "make"))


def test_the_waiting_error_names_task_commands_escaped_and_how_to_approve() -> None:
    task = _task("nx-abc1", "true\x1b]0;owned\x07", "make test")
    error = approvals.needs_approval(task, task.gates)
    assert error.exit_code == 5 and "nx-abc1" in error.message and "\x1b" not in error.message
    assert "`make test`" in error.message
    assert error.hint == "a person must approve it: nexus task gate approve nx-abc1"


def test_asking_without_a_terminal_fails_and_reads_no_stdin() -> None:
    """A process with no controlling terminal (setsid) cannot be asked, whatever its stdin."""
    code = (
        "from nexus_cli.tasks import approvals\n"
        "from nexus_cli.errors import NoTerminalError\n"
        "try:\n    approvals.ask_person('ok? ')\n"
        "except NoTerminalError:\n    raise SystemExit(4)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        input="y\n",
        capture_output=True,
        text=True,
        start_new_session=True,
        env={**os.environ, "NEXUS_YES": "1", "NEXUS_APPROVE": "1"},
        timeout=60,
    )
    assert done.returncode == 4, done.stderr
    assert issubclass(NoTerminalError, Exception) and NoTerminalError.exit_code == 4
