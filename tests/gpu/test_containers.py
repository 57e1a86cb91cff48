"""Containerised trainers seen from the host (a real Docker container), and nexus run inside its
own PID namespace, where NVML's host PIDs cannot be seen."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from nexus_cli.gpu import containers, impact
from nexus_cli.gpu.model import GpuProcessReading
from tests.conftest import REPO_ROOT, run_nexus
from tests.gpu.conftest import GIB, FakeNvml, make_gpu, wait_until, write_fake_nvml

_TRAINER = (
    "mkdir -p /ckpt && cd /ckpt && echo a > model_epoch_1.pt && sleep 1"
    " && echo b > model_epoch_2.pt && touch /ckpt/.done && exec sleep 600"
)


@pytest.fixture
def container_trainer(docker_client: Any, test_image: str) -> Iterator[tuple[int, str]]:
    """(host PID, container id) of a busybox 'trainer' whose checkpoints stay inside it."""
    container = docker_client.containers.run(
        test_image,
        ["sh", "-c", _TRAINER],
        name=f"nexus-gputest-{uuid.uuid4().hex[:10]}",
        labels={"nexus.test": "gpu"},
        detach=True,
    )
    try:
        wait_until(lambda: container.exec_run(["test", "-e", "/ckpt/.done"]).exit_code == 0, 30)
        container.reload()
        yield int(container.attrs["State"]["Pid"]), container.id
    finally:
        container.remove(force=True)


@pytest.mark.docker
def test_a_container_process_is_matched_from_the_host(
    container_trainer: tuple[int, str], fake_nvml: Callable[..., FakeNvml]
) -> None:
    pid, cid = container_trainer
    assert containers.ns_pids(pid)[0] == pid
    where = containers.describe(pid)
    assert where.container_id == cid[:12] and where.inner_pid == 1
    fake_nvml([make_gpu("0")], {"0": [GpuProcessReading(pid, "0", 2 * GIB, ["compute"])]})
    (row,) = run_nexus("gpu", "processes", "--json").json()["processes"]
    assert row["namespace"] == "other" and row["container_id"] == cid[:12]
    assert row["inner_pid"] == 1 and row["command"] == "sleep 600"
    table = run_nexus("gpu", "processes").stdout
    assert f"[container {cid[:12]}, PID 1 inside] sleep 600" in table


@pytest.mark.docker
def test_impact_reads_a_containers_checkpoints_through_proc_root(
    container_trainer: tuple[int, str],
) -> None:
    pid, cid = container_trainer
    report = impact.analyze(pid, [], None)
    assert report.process.container_id == cid[:12] and report.process.inner_pid == 1
    assert report.checkpoints_found == 2
    assert report.newest_checkpoint is not None
    assert report.newest_checkpoint.path == f"/proc/{pid}/root/ckpt/model_epoch_2.pt"
    assert report.cadence_s is not None  # both written by this run, a second apart
    text = run_nexus("gpu", "impact", str(pid)).stdout
    assert f"Runs in container {cid[:12]}, PID 1 inside" in text


def _can_unshare_pid() -> bool:
    if os.getuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "--pid", "--fork", "--mount-proc", "true"], capture_output=True, timeout=10
    )
    return probe.returncode == 0


def test_nexus_in_a_container_says_why_it_cannot_see_a_pid(tmp_path: Path) -> None:
    if not _can_unshare_pid():
        pytest.skip("needs root and `unshare --pid` to run nexus in its own PID namespace")
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        env = write_fake_nvml(
            tmp_path / "nvml.json",
            [make_gpu("0")],
            {"0": [GpuProcessReading(sleeper.pid, "0", GIB, ["compute"])]},
        )
        inside = ["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-m", "nexus_cli"]
        run_env = {**os.environ, **env, "PYTHONPATH": str(REPO_ROOT)}
        listing = subprocess.run(
            [*inside, "gpu", "processes", "--json"], capture_output=True, text=True, env=run_env
        )
        (row,) = __import__("json").loads(listing.stdout)["processes"]
        assert row["namespace"] == "not visible"
        assert "nexus runs in a container without the host PID namespace" in row["note"]
        analysed = subprocess.run(
            [*inside, "gpu", "impact", str(sleeper.pid)],
            capture_output=True,
            text=True,
            env=run_env,
        )
        assert analysed.returncode == 1
        assert "nexus runs in a container without the host PID namespace" in analysed.stderr
        assert "--pid=host" in analysed.stderr
    finally:
        sleeper.kill()
        sleeper.wait()


def test_on_the_host_nexus_is_not_in_a_container() -> None:
    if os.readlink("/proc/self/ns/pid") != "pid:[4026531836]":
        pytest.skip("the tests themselves run in a container")
    assert not containers.nexus_in_container()
    assert containers.host_path(os.getpid(), "/tmp/x") == "/tmp/x"
