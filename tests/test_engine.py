"""The one way to the Docker engine: a short wait for the first answer, a long one for work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nexus_cli import engine
from nexus_cli.errors import DockerUnavailableError


@pytest.mark.docker
def test_calls_after_the_first_answer_may_take_long(docker_client: Any) -> None:
    """Regression: every call had the 5 s connect timeout, so creating a container on a busy
    machine failed with "unexpected ReadTimeout … this is a bug"."""
    client = engine.connect()
    assert client.api.timeout == engine.OPERATION_TIMEOUT_SECONDS >= 60


def test_no_engine_is_one_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no.sock")
    with pytest.raises(DockerUnavailableError) as info:
        engine.connect()
    assert info.value.message.startswith(f"Docker engine unavailable at unix://{tmp_path}/no.sock")


@pytest.mark.parametrize(
    ("host", "remote", "kind"),
    [
        ("unix:///var/run/docker.sock", False, "local"),
        ("npipe:////./pipe/docker_engine", False, "local"),
        ("ssh://me@build-box:2200", True, "ssh"),
        ("tcp://10.0.0.5:2376", True, "tcp"),
        ("tcp://127.0.0.1:2375", True, "tcp"),  # may be a tunnel: its files are not ours
    ],
)
def test_remote_is_decided_from_the_endpoint(host: str, remote: bool, kind: str) -> None:
    where = engine.Endpoint(host, "DOCKER_HOST")
    assert (where.remote, where.kind) == (remote, kind)
    assert where.to_json() == {
        "endpoint": host,
        "source": "DOCKER_HOST",
        "remote": remote,
        "kind": kind,
    }


def test_the_ssh_target_keeps_port_and_user_and_ends_options() -> None:
    assert engine.Endpoint("ssh://me@box:2200", "x").ssh_target() == [
        "-p",
        "2200",
        "-l",
        "me",
        "--",
        "box",
    ]
    assert engine.Endpoint("ssh://box", "x").ssh_target() == ["--", "box"]
    assert engine.Endpoint("tcp://box:2375", "x").ssh_target() == []


def test_the_current_endpoint_follows_docker_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "ssh://box")
    assert engine.current() == engine.Endpoint("ssh://box", "DOCKER_HOST")
    assert engine.current().remote


def test_load_sdk_imports_the_sdk_whole_in_a_fresh_interpreter() -> None:
    """What `workspaces.batch` calls before its threads, so that none of them finds the SDK
    half-imported by another."""
    code = (
        "import sys; from nexus_cli import engine; assert 'docker' not in sys.modules; "
        "engine.load_sdk(); import docker, docker.context; "
        "print(docker.DockerClient.__name__, docker.context.ContextAPI.__name__)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["DockerClient", "ContextAPI"]


def test_the_sdk_is_imported_once_without_the_collector_and_frozen() -> None:
    """Its modules live until the process ends: no collection walks them (~15 ms less for a
    `workspace create`); a second load imports nothing and freezes nothing more."""
    code = (
        "import gc, sys\n"
        "from nexus_cli import engine\n"
        "assert 'docker' not in sys.modules\n"
        "before = gc.get_freeze_count()\n"
        "engine.load_sdk()\n"
        "after = gc.get_freeze_count()\n"
        "engine.load_sdk()\n"
        "print(before, after, gc.get_freeze_count(), gc.isenabled(), 'docker.api' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    before, after, again = (int(n) for n in out[:3])
    assert after > before + 1000  # the SDK's modules, classes and functions
    assert again == after
    assert out[3:] == ["True", "True"]
