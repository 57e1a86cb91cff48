"""`nexus gpu stop`: against real trainer processes that write checkpoints slowly, in chunks."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from nexus_cli.gpu.stop import DEADLINE_EXIT
from tests.conftest import nexus_exe, run_nexus, run_process
from tests.gpu.conftest import HERE, wait_until

Start = Callable[..., tuple[subprocess.Popen[bytes], Path]]


@pytest.fixture
def chunk_trainer(tmp_path: Path) -> Iterator[Start]:
    """Start ``chunk_trainer.py`` in its own session; its checkpoints go to ``run/ckpts``."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> tuple[subprocess.Popen[bytes], Path]:
        cwd = tmp_path / f"run{len(started)}"
        ckpts = cwd / "ckpts"
        ckpts.mkdir(parents=True)
        proc = subprocess.Popen(
            [sys.executable, str(HERE / "chunk_trainer.py"), "--dir", str(ckpts), *args],
            cwd=cwd,
            start_new_session=True,
        )
        started.append(proc)
        return proc, ckpts

    yield start
    for proc in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _finished(ckpts: Path) -> list[str]:
    log = ckpts / "log"
    return log.read_text().split("\n")[:-1] if log.exists() else []


@pytest.mark.parametrize("layout", ["chunks", "reopen", "rename", "huggingface", "deepspeed"])
def test_at_checkpoint_signals_within_a_second_of_a_complete_one_never_mid_write(
    chunk_trainer: Start, layout: str
) -> None:
    proc, ckpts = chunk_trainer("--layout", layout, "--interval", "0.8")
    wait_until(lambda: len(_finished(ckpts)) >= 1, timeout=30)
    out = run_process("gpu", "stop", str(proc.pid), "--at-checkpoint", "--grace", "10", "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    record = json.loads((ckpts / "signalled.json").read_text())
    assert record["signal"] == "SIGTERM" and record["mid_write"] is False
    assert record["count"] >= 2  # a checkpoint written after the stop began, not the old one
    assert Path(result["checkpoint"]).name == record["last"]
    assert record["time"] - record["last_at"] < 1.0, (layout, result)
    assert result["reason"] == "checkpoint" and result["exited"] is True
    assert [s["signal"] for s in result["sent"]] == ["SIGTERM"]
    marker = {"huggingface": "trainer_state.json", "deepspeed": "latest"}
    assert result["complete_by"] == marker.get(layout, "stable")
    assert proc.wait(timeout=10) == 0


def test_a_checkpoint_half_written_when_the_watch_starts_is_waited_for(
    chunk_trainer: Start, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    proc, ckpts = chunk_trainer(
        "--chunks", "4", "--chunk-pause", "0.2", "--interval", "0.5", "--hold", str(go)
    )
    # The second checkpoint file exists but is still being written (held after its first chunk
    # until the watch has started, however long that takes on a loaded machine).
    wait_until(lambda: len(_finished(ckpts)) == 1 and (ckpts / "ckpt_step200.pt").exists(), 30)
    watch = subprocess.Popen(
        [*nexus_exe(), "gpu", "stop", str(proc.pid), "--at-checkpoint", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert watch.stderr is not None
    said = watch.stderr.readline()
    assert said.startswith(f"watching PID {proc.pid}"), said
    go.touch()
    stdout, stderr = watch.communicate(timeout=120)
    assert watch.returncode == 0, said + stderr
    assert json.loads(stdout)["checkpoint"].endswith("ckpt_step200.pt")
    record = json.loads((ckpts / "signalled.json").read_text())
    assert record["mid_write"] is False and record["last"] == "ckpt_step200.pt"
    assert record["time"] - record["last_at"] < 1.0


_READS_WEIGHTS = """
import os, sys, time
go, weights = sys.argv[1], sys.argv[2]
while not os.path.exists(go):
    time.sleep(0.02)
held = open(weights, "rb")  # pretrained weights, read: never this run's checkpoint
print("opened", flush=True)
for _ in range(600):
    time.sleep(0.1)
"""


def test_old_weights_the_run_opens_to_read_are_not_its_next_checkpoint(tmp_path: Path) -> None:
    """A file the run opens during the watch adds its folder to where checkpoints are looked
    for; what that folder held before the watch (a `.pth` of pretrained weights, or of
    site-packages as Python starts) is not a new checkpoint, so nothing is sent."""
    cache = tmp_path / "cache"
    cache.mkdir()
    weights = cache / "resnet50.pth"
    weights.write_bytes(b"w" * 4096)
    os.utime(weights, (time.time() - 3600, time.time() - 3600))
    (tmp_path / "run").mkdir()
    go = tmp_path / "go"
    run = subprocess.Popen(
        [sys.executable, "-c", _READS_WEIGHTS, str(go), str(weights)],
        cwd=tmp_path / "run",
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        watch = subprocess.Popen(
            [*nexus_exe(), "gpu", "stop", str(run.pid), "--at-checkpoint", "--deadline", "2s"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert watch.stderr is not None and run.stdout is not None
        said = watch.stderr.readline()
        assert said.startswith(f"watching PID {run.pid}"), said
        go.touch()
        assert run.stdout.readline() == "opened\n"
        stdout, stderr = watch.communicate(timeout=120)
        assert watch.returncode == DEADLINE_EXIT, said + stdout + stderr
        assert "nothing was sent" in stderr and run.poll() is None
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()


def test_signal_usr1_and_plain_text(chunk_trainer: Start) -> None:
    proc, ckpts = chunk_trainer("--interval", "0.5")
    wait_until(lambda: len(_finished(ckpts)) >= 1, timeout=30)
    out = run_process("gpu", "stop", str(proc.pid), "--at-checkpoint", "--signal", "SIGUSR1")
    assert out.returncode == 0, out.stderr
    assert json.loads((ckpts / "signalled.json").read_text())["signal"] == "SIGUSR1"
    lines = out.stdout.splitlines()
    assert lines[0].startswith("checkpoint ckpt_step") and "(size stable, closed)" in lines[0]
    assert lines[1] == f"sent SIGUSR1 to {proc.pid}" and lines[2] == f"PID {proc.pid} has exited"
    assert "watching PID" in out.stderr


def test_deadline_without_a_terminal_gives_up_and_sends_nothing(chunk_trainer: Start) -> None:
    proc, ckpts = chunk_trainer("--interval", "60")
    out = run_process("gpu", "stop", str(proc.pid), "--at-checkpoint", "--deadline", "1s")
    assert out.returncode == DEADLINE_EXIT
    assert out.stderr.splitlines()[-2].startswith("error: no checkpoint completed within")
    assert "nothing was sent" in out.stderr and "Traceback" not in out.stderr
    assert proc.poll() is None and not (ckpts / "signalled.json").exists()


@pytest.mark.parametrize(("answer", "code"), [("y", 0), ("n", DEADLINE_EXIT)])
def test_deadline_on_a_terminal_asks(
    chunk_trainer: Start, answering_terminal: None, answer: str, code: int
) -> None:
    proc, ckpts = chunk_trainer("--interval", "60")
    result = run_nexus(
        "gpu", "stop", str(proc.pid), "--at-checkpoint", "--deadline", "0.3", input=f"{answer}\n"
    )
    assert result.exit_code == code, result.stderr
    assert "stop PID" in result.stderr and "now anyway?" in result.stderr
    if answer == "y":
        assert json.loads((ckpts / "signalled.json").read_text())["signal"] == "SIGTERM"
        assert proc.wait(timeout=10) == 0
    else:
        assert proc.poll() is None and not (ckpts / "signalled.json").exists()


def test_escalates_to_sigkill_when_sigterm_is_ignored(tmp_path: Path) -> None:
    code = "import signal,time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    try:
        wait_until(lambda: signal.SIGTERM in _ignored(proc.pid))
        out = run_process("gpu", "stop", str(proc.pid), "--grace", "0.5", "--json")
        assert out.returncode == 0, out.stderr
        result = json.loads(out.stdout)
        assert [s["signal"] for s in result["sent"]] == ["SIGTERM", "SIGKILL"]
        assert result["reason"] == "now" and result["exited"] is True
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_no_kill_leaves_a_stubborn_process_running(tmp_path: Path) -> None:
    code = "import signal,time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    try:
        wait_until(lambda: signal.SIGTERM in _ignored(proc.pid))
        out = run_process("gpu", "stop", str(proc.pid), "--grace", "0.2", "--no-kill", "--json")
        result = json.loads(out.stdout)
        assert [s["signal"] for s in result["sent"]] == ["SIGTERM"] and not result["exited"]
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()


def _ignored(pid: int) -> set[int]:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            mask = int(line.split()[1], 16)
            return {n + 1 for n in range(64) if mask >> n & 1}
    return set()


def test_identity_is_checked_before_anything_is_sent(chunk_trainer: Start) -> None:
    proc, ckpts = chunk_trainer("--interval", "60")
    wrong = psutil.Process(proc.pid).create_time() - 100
    out = run_process(
        "gpu", "stop", str(proc.pid), "--expect-create-time", str(wrong), "--grace", "1"
    )
    assert out.returncode == 1 and "different process" in out.stderr
    assert proc.poll() is None and not (ckpts / "signalled.json").exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["1"], "refused to signal PID 1"),
        (["999999999"], "no process with PID"),
        (["{self}", "--deadline", "5m"], "--deadline goes with --at-checkpoint"),
        (["{self}", "--at-checkpoint", "--deadline", "soon"], "is not a duration"),
    ],
)
def test_bad_requests_are_one_line(args: list[str], needle: str) -> None:
    # {self} is the test process: an ancestor of nexus, refused by the guards if ever reached.
    argv = [a.replace("{self}", str(os.getpid())) for a in args]
    started = time.monotonic()
    out = run_process("gpu", "stop", *argv)
    assert out.returncode in (1, 2) and needle in out.stderr, out.stderr
    assert "Traceback" not in out.stderr and time.monotonic() - started < 30
