"""Free devices, reservations, `nexus gpu pick` and `nexus gpu wait`, with real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from nexus_cli.gpu import reserve
from nexus_cli.gpu.model import GpuProcessReading
from nexus_cli.gpu.stop import DEADLINE_EXIT
from tests.conftest import nexus_exe, run_nexus, run_process
from tests.gpu.conftest import GIB, FakeNvml, make_gpu, wait_until, write_fake_nvml

# CMD for `gpu wait`: note the devices it got and when it started, hold them until GO exists.
HOLD = (
    "import os, sys, time, pathlib\n"
    "out = pathlib.Path(sys.argv[1])\n"
    "out.write_text(os.environ['CUDA_VISIBLE_DEVICES'] + ' ' + repr(time.time()))\n"
    "while not pathlib.Path(sys.argv[2]).exists(): time.sleep(0.05)\n"
)


def _free_gpus(count: int) -> list[object]:
    return [make_gpu(str(i), memory_used=0, utilization_pct=0) for i in range(count)]


def test_pick_orders_free_devices_and_counts_memory(fake_nvml: Callable[..., FakeNvml]) -> None:
    session = fake_nvml(
        [
            make_gpu("0", memory_used=60 * GIB),
            make_gpu("1", memory_used=10 * GIB, utilization_pct=40),
            make_gpu("2", memory_used=10 * GIB, utilization_pct=5),
        ],
        {"0": [GpuProcessReading(os.getpid(), "0", 60 * GIB, ["compute"])]},
    )
    assert [d.index for d in reserve.pick(session, 3)] == ["2", "1"]
    assert [d.index for d in reserve.pick(session, 3, min_memory=30 * GIB)] == ["2", "1"]
    assert [d.index for d in reserve.pick(session, 3, min_memory=15 * GIB)] == ["2", "1", "0"]


def test_a_live_reservation_blocks_and_a_stale_one_is_taken_over(
    fake_nvml: Callable[..., FakeNvml],
) -> None:
    session = fake_nvml(_free_gpus(1))
    uuid = session.devices[0].uuid
    assert uuid is not None
    me = reserve.Owner.me()
    assert reserve.claim([uuid], me) and reserve.pick(session, 1) == []
    other = reserve.Owner.me()
    assert not reserve.claim([uuid], other)  # a different token, a live owner
    reserve.release([uuid], other)  # not its reservation: nothing happens
    assert reserve.holder(uuid) == me
    # A process that has exited leaves a stale reservation behind: it is taken over.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    gone = reserve.Owner(dead.pid, 1.0, "abc", 0.0)
    reserve.release([uuid], me)
    assert reserve.claim([uuid], gone)
    assert reserve.holder(uuid) is None and reserve.claim([uuid], other)
    assert reserve.holder(uuid) == other


@pytest.fixture
def waiters(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []

    def start(name: str, env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
        argv = [*nexus_exe(), "gpu", "wait", "--interval", "0.1", *extra, "--"]
        argv += [sys.executable, "-c", HOLD, str(tmp_path / f"{name}.out"), str(tmp_path / "GO")]
        stderr = open(tmp_path / f"{name}.err", "w")  # noqa: SIM115 - closed by the process end
        proc = subprocess.Popen(argv, env={**os.environ, **env}, stderr=stderr, text=True)
        started.append(proc)
        return proc

    yield start
    (tmp_path / "GO").touch()
    for proc in started:
        proc.wait(timeout=30)


def test_two_waiters_never_share_a_device(
    tmp_path: Path, waiters: Callable[..., subprocess.Popen[str]]
) -> None:
    env = write_fake_nvml(tmp_path / "nvml.json", _free_gpus(2))  # type: ignore[arg-type]
    a, b = waiters("a", env), waiters("b", env)
    wait_until(lambda: (tmp_path / "a.out").exists() and (tmp_path / "b.out").exists(), 60)
    got = {(tmp_path / f"{n}.out").read_text().split()[0] for n in "ab"}
    assert got == {"GPU-00000000-fake", "GPU-00000001-fake"}
    (tmp_path / "GO").touch()
    assert a.wait(timeout=30) == 0 and b.wait(timeout=30) == 0
    assert list(reserve.folder().glob("*.json")) == []  # released when CMD ended


def test_with_one_device_the_second_waits_for_the_first_cmd_to_end(
    tmp_path: Path, waiters: Callable[..., subprocess.Popen[str]]
) -> None:
    env = write_fake_nvml(tmp_path / "nvml.json", _free_gpus(1))  # type: ignore[arg-type]
    first = waiters("a", env)
    wait_until(lambda: (tmp_path / "a.out").exists(), 60)
    second = waiters("b", env)
    wait_until(lambda: "waiting for 1 free device" in (tmp_path / "b.err").read_text(), 60)
    assert not (tmp_path / "b.out").exists() and second.poll() is None
    (tmp_path / "GO").touch()  # the first CMD ends, and with it the reservation
    assert first.wait(timeout=30) == 0
    wait_until(lambda: (tmp_path / "b.out").exists(), 60)
    assert second.wait(timeout=30) == 0
    a_uuid, _ = (tmp_path / "a.out").read_text().split()
    b_uuid, b_started = (tmp_path / "b.out").read_text().split()
    assert a_uuid == b_uuid == "GPU-00000000-fake"
    assert float(b_started) >= os.stat(tmp_path / "GO").st_mtime  # after the first was let go


def test_wait_times_out_and_passes_cmds_exit_code(tmp_path: Path) -> None:
    busy = make_gpu("0")
    env = write_fake_nvml(
        tmp_path / "nvml.json", [busy], {"0": [GpuProcessReading(1, "0", GIB, ["compute"])]}
    )
    out = run_process(
        "gpu", "wait", "--timeout", "0.3s", "--interval", "0.1", "--", "true", env=env
    )
    assert out.returncode == DEADLINE_EXIT and "CMD was not run" in out.stderr
    env = write_fake_nvml(tmp_path / "nvml.json", _free_gpus(1))  # type: ignore[arg-type]
    code = "import os, sys; print(os.environ['CUDA_VISIBLE_DEVICES']); sys.exit(3)"
    out = run_process("gpu", "wait", "--", sys.executable, "-c", code, env=env)
    assert out.returncode == 3 and out.stdout == "GPU-00000000-fake\n"


def test_pick_cli_plain_json_and_too_few(fake_nvml: Callable[..., FakeNvml]) -> None:
    fake_nvml(_free_gpus(2))
    assert run_nexus("gpu", "pick").stdout == "GPU-00000000-fake\n"
    data = run_nexus("gpu", "pick", "-n", "2", "--json").json()
    assert [d["uuid"] for d in data["devices"]] == ["GPU-00000000-fake", "GPU-00000001-fake"]
    result = run_nexus("gpu", "pick", "-n", "3")
    assert result.exit_code == 1 and "only 2 of the 3 free devices" in result.stderr
    assert json.loads(run_nexus("gpu", "pick", "-n", "3", "--json").stdout)["wanted"] == 3
