"""``nexus workspace exec`` passes standard input on, byte for byte, on the real Docker engine."""

from __future__ import annotations

import hashlib
import os
import shlex
import signal
import socket
import struct
import subprocess
from pathlib import Path

import pytest

from nexus_cli.workspaces.container_io import copy_output
from tests.conftest import nexus_exe, run_nexus
from tests.processes import until
from tests.tmux_terminal import nexus_command, terminal

pytestmark = pytest.mark.docker


@pytest.fixture
def workspace(ws_project: Path) -> str:
    result = run_nexus("workspace", "create", "io", "--template", "duo")
    assert result.exit_code == 0, result.stderr
    return "io"


def exec_process(
    name: str, *command: str, data: bytes, cwd: Path
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*nexus_exe(), "workspace", "exec", name, "--", *command],
        input=data,
        capture_output=True,
        cwd=cwd,
        env=os.environ.copy(),
        timeout=300,
        check=False,
    )


def test_ten_megabytes_of_stdin_round_trip_byte_for_byte(ws_project: Path, workspace: str) -> None:
    data = os.urandom(10 * 1024 * 1024)
    done = exec_process(workspace, "cat", data=data, cwd=ws_project)
    assert done.returncode == 0, done.stderr.decode()
    assert len(done.stdout) == len(data)
    assert hashlib.sha256(done.stdout).digest() == hashlib.sha256(data).digest()


def test_input_reaches_a_command_that_reads_a_file_from_stdin(
    ws_project: Path, workspace: str
) -> None:
    script = b"echo from-script; echo to-stderr >&2; exit 3\n"
    done = exec_process(workspace, "sh", data=script, cwd=ws_project)
    assert done.returncode == 3
    assert done.stdout == b"from-script\n"
    assert b"to-stderr" in done.stderr


def test_a_command_that_stops_reading_early_still_ends(ws_project: Path, workspace: str) -> None:
    data = b"line\n" * 2_000_000  # 10 MB, of which `head` reads one line
    done = exec_process(workspace, "head", "-n", "1", data=data, cwd=ws_project)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == b"line\n"


def test_empty_input_is_an_immediate_end_of_file(workspace: str) -> None:
    result = run_nexus("workspace", "exec", workspace, "--", "wc", "-c", input="")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "0"
    piped = run_nexus("workspace", "exec", workspace, "--", "cat", input="in-process\n")
    assert piped.stdout == "in-process\n"


def test_a_command_that_ends_while_the_input_is_still_open_ends_cleanly(
    ws_project: Path, workspace: str
) -> None:
    """``tail -f log | nexus workspace exec w -- grep -m1 x``: the input never ends, so the
    feeder is still reading it when the command is done. Nexus exits with the command's code;
    it aborted (exit -6, "could not acquire lock for <stdin> at interpreter shutdown") when the
    feeder's read held the lock of Python's buffered stdin."""
    read_end, write_end = os.pipe()  # kept open, empty: a read of it blocks until the end
    try:
        done = subprocess.run(
            [*nexus_exe(), "workspace", "exec", workspace, "--", "sh", "-c", "exit 4"],
            stdin=read_end,
            capture_output=True,
            cwd=ws_project,
            timeout=300,
            check=False,
        )
    finally:
        os.close(read_end)
        os.close(write_end)
    assert done.returncode == 4, done.stderr.decode()
    assert done.stderr == b""


def test_output_ends_at_a_reset_after_what_came_before_it() -> None:
    """The engine ends an exec whose command left input unread (``head``) with a reset, not an
    end of file; on a local socket, what it sent before is read first. The output ends there,
    whole: before, the reset was one "unexpected ConnectionResetError" (it failed `.ci/run`
    once, in the test above)."""
    ours, engine = socket.socketpair()
    try:
        engine.sendall(struct.pack(">BxxxL", 1, 5) + b"line\n")  # the command's one line
        engine.sendall(struct.pack(">BxxxL", 2, 4) + b"err\n")
        ours.sendall(b"input the command never read\n" * 100)
        engine.close()  # with that input unread: a reset, on our side
        written: list[tuple[bytes, bool]] = []
        copy_output(ours, lambda data, to_stderr: written.append((data, to_stderr)))
    finally:
        ours.close()
    assert written == [(b"line\n", False), (b"err\n", True)]
    ours, engine = socket.socketpair()  # the same end, read directly: a reset indeed
    try:
        ours.sendall(b"x")
        engine.close()
        with pytest.raises(ConnectionResetError):
            ours.recv(1)
    finally:
        ours.close()


@pytest.mark.parametrize(
    ("signum", "code", "stdin"),
    [
        (signal.SIGINT, 130, "pipe"),  # Ctrl-C with input being forwarded
        (signal.SIGTERM, 143, "pipe"),
        (signal.SIGINT, 130, "closed"),  # no input at all: the output-only path
    ],
)
def test_a_stopped_exec_ends_its_command_in_the_container(
    ws_project: Path, workspace: str, signum: int, code: int, stdin: str
) -> None:
    """The engine cannot signal an exec without a terminal, and closing the connection leaves it
    running (``psql < dump.sql`` went on loading the dump after Ctrl-C). Nexus ends it: the
    command, and its children, are gone when Nexus exits. This one ignores SIGTERM, so it takes
    the SIGKILL that follows."""
    marker = f"sleep {3000 + signum}"
    script = f"trap '' TERM; echo started; while :; do {marker}; done"
    argv = [*nexus_exe(), "workspace", "exec", workspace, "--", "sh", "-c", script]
    if stdin == "closed":
        argv = ["sh", "-c", 'exec "$@" <&-', "sh", *argv]
    read_end, write_end = os.pipe()  # kept open: the input never ends
    running = subprocess.Popen(
        argv,
        stdin=read_end if stdin == "pipe" else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ws_project,
    )
    try:
        assert running.stdout is not None
        assert running.stdout.readline() == b"started\n"
        assert marker in _processes(workspace)
        running.send_signal(signum)
        assert running.wait(timeout=60) == code
        err = running.stderr.read().decode() if running.stderr else ""
        assert "Traceback" not in err and "warning" not in err, err
        assert marker not in _processes(workspace)
        assert "trap" not in _processes(workspace)
    finally:
        running.kill()
        running.wait(timeout=30)
        os.close(read_end)
        os.close(write_end)


def _processes(workspace: str) -> str:
    """What runs in the workspace's default service now (busybox ``ps``)."""
    result = run_nexus("workspace", "exec", workspace, "--", "ps", "-o", "pid,args", input="")
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("how", ["sigterm", "hang-up"])
def test_a_terminal_exec_stopped_by_sigterm_ends_its_command(
    ws_project: Path, workspace: str, how: str
) -> None:
    """On a terminal, `exec` runs `docker exec -it`; Ctrl-C reaches the command through the
    terminal, but SIGTERM to Nexus, or the terminal closing (SIGHUP to Nexus and the docker CLI),
    ended only the docker CLI, which left the command running in the container. Nexus ends it
    there too."""
    marker = f"sleep {3021 if how == 'sigterm' else 3022}"
    exec_line = nexus_command(f"workspace exec {workspace} -- sh -c {shlex.quote(marker)}")
    with terminal(120, 30) as term:
        term.start(f"echo PID $$; exec {exec_line}", cwd=str(ws_project))
        screen = term.wait(lambda s: "PID " in s)
        pid = int(screen.split("PID ", 1)[1].split()[0])
        assert until(lambda: marker in _processes(workspace)), "the command never started"
        if how == "sigterm":
            os.kill(pid, signal.SIGTERM)
        else:
            term.close()  # the terminal goes away: its processes get SIGHUP
        assert until(lambda: marker not in _processes(workspace)), "the command outlived exec"
