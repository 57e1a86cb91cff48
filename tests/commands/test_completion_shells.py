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
from tests.tmux_terminal import terminal

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
    # The first Tab lists the candidates even when the two random ids share a prefix to insert
    # (by default zsh then only inserts it, and lists on the second Tab).
    (isolated_home / ".zshrc").write_text("PS1='%% '\nunsetopt listambiguous\n")
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


def _bash_complete(
    home: Path, cwd: Path, path: str, words: str
) -> subprocess.CompletedProcess[str]:
    """Complete ``words`` in a real bash that sourced the installed file (as bash-completion does)."""
    script = home / ".local/share/bash-completion/completions/nexus"
    line = (
        f"source {script}; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); "
        '_nexus_completion nexus; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    env = {**_shell_env(home), "PATH": path}
    return subprocess.run(
        ["bash", "--norc", "-c", line], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_bash_file_completes_and_is_silent_without_nexus(
    tasks: dict[str, str], isolated_home: Path, project: Path
) -> None:
    _need("bash")
    assert run_nexus("completion", "bash", "--install").exit_code == 0
    found = _bash_complete(isolated_home, project, f"{BIN}:/usr/bin:/bin", "nexus doc")
    assert found.returncode == 0, found.stderr
    assert found.stdout.split() == ["doctor"] and found.stderr == ""
    ids = _bash_complete(isolated_home, project, f"{BIN}:/usr/bin:/bin", "nexus task show nx-")
    assert set(ids.stdout.split()) == set(tasks)
    missing = _bash_complete(isolated_home, project, "/usr/bin:/bin", "nexus doc")
    assert missing.returncode == 0
    assert missing.stdout.strip() == "" and missing.stderr == ""


def test_bash_completion_package_loads_the_file_on_first_use(
    isolated_home: Path, project: Path
) -> None:
    _need("bash")
    loader = Path("/usr/share/bash-completion/bash_completion")
    if not loader.exists():
        pytest.skip("the bash-completion package is not installed")
    assert run_nexus("completion", "bash", "--install").exit_code == 0
    line = f"source {loader}; complete -p nexus 2>/dev/null || echo none; __load_completion nexus; complete -p nexus"
    out = subprocess.run(
        ["bash", "--norc", "-c", line],
        env=_shell_env(isolated_home),
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.splitlines() == ["none", "complete -o nosort -F _nexus_completion nexus"]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_starting_a_shell_runs_no_nexus(isolated_home: Path, tmp_path: Path, shell: str) -> None:
    """After --install an interactive shell starts without running nexus (no ~70 ms, no errors)."""
    _need(shell)
    (isolated_home / ".zshrc").write_text("PS1='%% '\n")
    assert run_nexus("completion", shell, "--install").exit_code == 0
    fake = tmp_path / "fake-bin"
    fake.mkdir()
    marker = tmp_path / "nexus-ran"
    (fake / "nexus").write_text(f"#!/bin/sh\necho ran >> {marker}\n")
    (fake / "nexus").chmod(0o755)
    env = {**_shell_env(isolated_home), "PATH": f"{fake}:/usr/bin:/bin"}
    out = subprocess.run(
        [shell, "-i", "-c", "echo started"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert "started" in out.stdout, out.stderr
    assert "nexus" not in out.stderr
    assert not marker.exists()


def test_zsh_with_compinit_completes_twice_and_is_silent_without_nexus(
    tasks: dict[str, str], isolated_home: Path, project: Path
) -> None:
    _need("zsh")
    _need("tmux")
    # unsetopt listambiguous: the first Tab lists the ids even when the two random ones share a
    # prefix (see the test above).
    (isolated_home / ".zshrc").write_text(
        "PS1='%% '\nunsetopt listambiguous\nautoload -Uz compinit && compinit -u\n"
    )
    assert run_nexus("completion", "zsh", "--install").exit_code == 0
    with terminal(160, 50) as term:  # its own tmux server
        term.start(
            f"env HOME={isolated_home} ZDOTDIR={isolated_home} PATH=/usr/bin:/bin zsh -f",
            str(project),
        )
        term.send_keys("source ~/.zshrc; echo sourced-$?", "Enter")
        term.wait(lambda s: "sourced-0" in s)
        term.send_keys("nexus task show nx-", "Tab")  # nexus is not on PATH: nothing, silently
        time.sleep(1.5)
        screen = term.screen()
        assert "command not found" not in screen and TITLE not in screen
        term.send_keys("C-u", f"export PATH={BIN}:/usr/bin:/bin; clear", "Enter")
        term.send_keys("nexus doc", "Tab")
        term.wait(lambda s: "nexus doctor" in s)
        term.send_keys("C-u", "nexus task show nx-", "Tab")  # _nexus runs a second time
        screen = term.wait(lambda s: "Fix login, then logout" in s)
        assert "command not found" not in screen
