"""Completion in the real shells: fish through ``complete -C``, zsh in a real terminal (tmux)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import run_nexus

BIN = Path(sys.executable).parent
TITLE = "Fix login, then logout; keep sessions"


def _shell_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "_NEXUS"))}
    env.update(HOME=str(home), ZDOTDIR=str(home), PATH=f"{BIN}:{env.get('PATH', '')}")
    env["TERM"] = "xterm-256color"
    return env


def _need(tool: str) -> None:
    if shutil.which(tool) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{tool} is not installed (CI installs it)")
        pytest.skip(f"{tool} is not installed")
    if not (BIN / "nexus").exists():
        pytest.skip("no nexus console script beside this interpreter")


@pytest.fixture
def tasks(project: Path) -> dict[str, str]:
    made = {}
    for title in (TITLE, "Evil \x1b]0;owned\x07 title"):
        result = run_nexus("task", "create", title, "--gate", "true", "--json")
        assert result.exit_code == 0, result.stderr
        made[result.json()["id"]] = title
    return made


def test_fish_keeps_whole_descriptions_and_titles(
    tasks: dict[str, str], isolated_home: Path, project: Path
) -> None:
    _need("fish")
    assert run_nexus("completion", "fish", "--install").exit_code == 0
    out = subprocess.run(
        ["fish", "-c", 'complete -C "nexus task show "; complete -C "nexus task "'],
        env=_shell_env(isolated_home),
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    lines = out.stdout.splitlines()
    good = next(i for i, t in tasks.items() if t == TITLE)
    assert f"{good}\t{TITLE}" in lines
    assert "assign\tAssign a task to AGENT (an empty string unassigns)." in lines
    assert "\x1b" not in out.stdout and "\x07" not in out.stdout
    assert any("Evil ^[]0;owned^G title" in line for line in lines)


# This process's own tmux server: a shared socket name would let a test running beside this one
# (another worker, another checkout's suite) kill the session under it.
SOCKET = f"nexus-test-zsh-{os.getpid()}"


def _tmux(*args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(
        ["tmux", "-L", SOCKET, "-f", "/dev/null", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout


def _wait_for(pattern: str, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    screen = ""
    while time.monotonic() < deadline:
        screen = _tmux("capture-pane", "-p", "-t", "zsh")
        if pattern in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{pattern!r} never appeared; screen:\n{screen}")


def test_zsh_without_compinit_completes_task_ids_with_titles(
    tasks: dict[str, str], isolated_home: Path, project: Path
) -> None:
    _need("zsh")
    _need("tmux")
    (isolated_home / ".zshrc").write_text("PS1='%% '\n")
    assert run_nexus("completion", "zsh", "--install").exit_code == 0
    env = _shell_env(isolated_home)
    try:
        _tmux(
            "new-session",
            "-d",
            "-s",
            "zsh",
            "-x",
            "160",
            "-y",
            "50",
            "-c",
            str(project),
            "zsh -f",
            env=env,
        )
        _tmux("send-keys", "-t", "zsh", f"export HOME={isolated_home} PATH={env['PATH']}", "Enter")
        _tmux("send-keys", "-t", "zsh", "source ~/.zshrc; echo sourced-$?", "Enter")
        screen = _wait_for("sourced-0")
        assert "command not found" not in screen
        assert "compdef" not in screen.replace("source ~/.zshrc", "")
        _tmux("send-keys", "-t", "zsh", "nexus task show nx-", "Tab")
        screen = _wait_for("Fix login, then logout")
        assert TITLE in screen
        assert "Evil ^[]0;owned^G title" in screen
    finally:
        subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True)
