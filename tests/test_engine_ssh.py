"""An ``ssh://`` engine through the user's own ssh (nexus_cli/engine_ssh.py): what the URL may say,
and that an ssh that fails is one clear error with nothing left running. The forward to a real
engine over SSH, and its end with the process, are tested in tests/workspaces/test_remote.py
(they need the second engine behind sshd that its fixture starts)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from nexus_cli import engine, engine_ssh
from nexus_cli.errors import DockerUnavailableError
from tests.conftest import processes_marked, run_process


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A local TCP port held (bound, not listening) for the test: a connection to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def own_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder where forwards make their socket folders, for this test alone."""
    folder = tmp_path / "t"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture(autouse=True)
def no_forwards_left() -> Iterator[None]:
    yield
    engine_ssh.close_all()


def test_the_url_gives_user_port_host_and_the_remote_socket() -> None:
    target = engine_ssh.parse("ssh://me@box:2200")
    assert target.ssh_args == ("-p", "2200", "-l", "me", "--", "box")
    assert target.remote_socket == "/var/run/docker.sock"
    assert engine_ssh.parse("ssh://box").ssh_args == ("--", "box")
    assert engine_ssh.parse("ssh://box/").remote_socket == "/var/run/docker.sock"
    rootless = engine_ssh.parse("ssh://me@box/run/user/1000/docker.sock")
    assert rootless.remote_socket == "/run/user/1000/docker.sock"
    assert engine.Endpoint("ssh://me@box:2200", "x").ssh_target() == [
        *("-p", "2200", "-l", "me", "--", "box")
    ]


@pytest.mark.parametrize(
    ("host", "why"),
    [
        ("ssh://me:secret@box", "password"),
        ("ssh://box?socket=/x", "query"),
        ("ssh://box#x", "fragment"),
        ("ssh:///var/run/docker.sock", "no host name"),
        ("ssh://box/run/a:b.sock", "':'"),
        ("ssh://box/run/a\tb.sock", "control characters"),
        ("ssh://box/run/a b.sock", "spaces"),
        ("ssh://box:99999", "out of range"),
    ],
)
def test_a_url_ssh_cannot_be_given_is_refused(host: str, why: str) -> None:
    with pytest.raises(DockerUnavailableError) as caught:
        engine_ssh.parse(host)
    assert why in caught.value.message and "\n" not in caught.value.message
    assert engine.Endpoint(host, "x").ssh_target() == []


def test_a_refused_connection_is_one_clear_error_and_leaves_nothing(
    refused_port: int, own_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = f"ssh://127.0.0.1:{refused_port}"
    monkeypatch.setenv("DOCKER_HOST", host)
    with pytest.raises(DockerUnavailableError) as caught:
        engine.connect()
    message = caught.value.message
    assert message.startswith(f"cannot reach the Docker engine at {host} over ssh: ssh: ")
    assert f"port {refused_port}: Connection refused" in message and "\n" not in message
    assert f"ssh -p {refused_port} -- 127.0.0.1 true" in (caught.value.hint or "")
    assert engine_ssh.running_pid(host) is None
    assert list(own_tmp.iterdir()) == []  # the socket folder (and ssh's log) removed


def test_an_unknown_host_says_so(own_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "ssh://nexus-no-such-host.invalid")
    with pytest.raises(DockerUnavailableError) as caught:
        engine.connect()
    assert "Could not resolve hostname nexus-no-such-host.invalid" in caught.value.message
    assert list(own_tmp.iterdir()) == []


def test_an_ssh_that_never_opens_the_socket_is_ended_at_the_deadline(
    own_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A host that accepts the TCP connection and never speaks SSH: ssh waits, Nexus does not,
    and the ssh it started is ended, not left waiting."""
    token = uuid.uuid4().hex
    monkeypatch.setenv("NEXUS_TEST_MARK", token)
    monkeypatch.setattr(engine_ssh, "START_TIMEOUT_S", 1.0)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        host = f"ssh://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(DockerUnavailableError) as caught:
            engine_ssh.socket_url(host)
    assert "ssh did not open the socket in 1s" in caught.value.message
    assert processes_marked(token) == []
    assert list(own_tmp.iterdir()) == []


def test_the_cli_gives_one_error_line_and_a_hint_not_a_traceback(
    project: Path, refused_port: int
) -> None:
    host = f"ssh://127.0.0.1:{refused_port}"
    result = run_process(
        "workspace", "create", "db1", "-t", "node-postgres", env={"DOCKER_HOST": host}
    )
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1, result.stderr
    assert lines[0].startswith(f"error: cannot reach the Docker engine at {host} over ssh")
    assert "Connection refused" in lines[0]
    assert lines[1].startswith("hint: check that `ssh -p") and len(lines) == 2, lines
    assert not (project / ".nexus" / "worktrees" / "db1").exists()


def test_without_an_ssh_client_the_error_says_to_install_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no ssh on it
    monkeypatch.setenv("DOCKER_HOST", "ssh://box")
    with pytest.raises(DockerUnavailableError) as caught:
        engine.connect()
    assert caught.value.message == (
        "the Docker engine at ssh://box is reached with ssh, which is not installed "
        "(not found on PATH)"
    )
    assert "openssh-client" in (caught.value.hint or "")


@pytest.mark.skipif(shutil.which("ps") is None, reason="no ps on this machine")
def test_a_process_is_recognised_from_ps_as_from_proc() -> None:
    """Where there is no /proc (macOS), an orphaned forward's ssh is found through ps."""
    child = subprocess.Popen(["sleep", "30"])
    try:
        # a process just started can show no arguments yet (seen under load): wait until /proc
        # has them, then ask ps
        deadline = time.monotonic() + 10
        while engine_ssh._proc_arguments(child.pid) != ["sleep", "30"]:
            assert time.monotonic() < deadline, engine_ssh._proc_arguments(child.pid)
            time.sleep(0.01)
        assert engine_ssh._ps_arguments(child.pid) == ["sleep", "30"]
    finally:
        child.kill()
        child.wait()
    assert engine_ssh._proc_arguments(child.pid) == engine_ssh._ps_arguments(child.pid) == []
