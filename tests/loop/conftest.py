"""Fixtures for loop tests: a project, and the scripted agent as a real command line."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

AGENT_SCRIPT = Path(__file__).resolve().parent / "scripted_agent.py"
AGENT = f"{shlex.quote(sys.executable)} {shlex.quote(str(AGENT_SCRIPT))}"
GATE = "grep -qx ok status.txt"


@pytest.fixture
def agent_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "agent-log"
    monkeypatch.setenv("SCRIPTED_AGENT_LOG", str(log))
    for knob in ("MODE", "EXIT", "PROMISE", "SLEEP"):
        monkeypatch.delenv(f"SCRIPTED_AGENT_{knob}", raising=False)
    return log


@pytest.fixture
def loop_project(project: Path, agent_log: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An initialised project (the current directory) where the agent is called alice."""
    monkeypatch.setenv("NEXUS_AGENT", "alice")
    return project


def runs(log: Path) -> list[tuple[str, int]]:
    """(task, iteration) of every agent run, in order."""
    path = log / "runs.txt"
    if not path.is_file():
        return []
    return [(line.split()[0], int(line.split()[1])) for line in path.read_text().splitlines()]


RELEASE_GATES = (
    "make test",
    "grep -qF -- * CHANGELOG.md",
    "git rev-parse -q --verify refs/tags/v*",
)


@pytest.fixture
def trusted_release_gates(trust: Callable[..., Path]) -> Path:
    """The person trusts the package-release workflow's gates (which come from a workflow file,
    so they would wait for approval) in their own configuration."""
    return trust(*RELEASE_GATES)
