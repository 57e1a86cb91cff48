"""On a machine with an NVIDIA GPU: `nexus gpu` against a real PyTorch training process.

These skip without a driver (see conftest.py; NEXUS_REQUIRE_GPU=1 makes them fail instead) and
without an interpreter that has torch with CUDA.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_process

HERE = Path(__file__).resolve().parent
pytestmark = pytest.mark.gpu


def _torch_python() -> str | None:
    """This interpreter, or python3 on PATH, whichever has torch with CUDA."""
    check = "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"
    for candidate in (sys.executable, shutil.which("python3")):
        if (
            candidate
            and subprocess.run([candidate, "-c", check], capture_output=True).returncode == 0
        ):
            return candidate
    return None


@pytest.fixture
def torch_run(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    python = _torch_python()
    if python is None:
        pytest.skip("no interpreter with torch and CUDA")
    ckpts = tmp_path / "ckpts"
    proc = subprocess.Popen(
        [python, str(HERE / "torch_trainer.py"), "--dir", str(ckpts), "--workers", "2"],
        cwd=tmp_path,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while len(list(ckpts.glob("ckpt_*.pt"))) < 3:
            assert proc.poll() is None, "the torch trainer died"
            assert time.monotonic() < deadline, "no checkpoints from the torch trainer"
            time.sleep(0.2)
        yield proc, ckpts
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def test_impact_of_a_real_training_run(torch_run: tuple[subprocess.Popen[bytes], Path]) -> None:
    proc, ckpts = torch_run
    out = run_process("gpu", "impact", str(proc.pid), "--json", "--checkpoint-dir", str(ckpts))
    assert out.returncode == 0, out.stderr
    import json

    data = json.loads(out.stdout)
    assert data["gpu_available"] is True
    assert data["gpus"], f"no GPU found for PID {proc.pid}: {data['gpus']}"
    assert data["gpus"][0]["memory_used"] > 256 * 1024 * 1024
    workers = [c for c in data["process"]["children"] if "worker" in (c["role"] or "")]
    assert len(workers) >= 2
    newest = sorted(ckpts.glob("ckpt_*.pt"), key=lambda p: p.stat().st_mtime)[-2:]
    assert Path(data["newest_checkpoint"]["path"]).name in {p.name for p in newest}
    assert data["cadence_s"] and 0.5 < data["cadence_s"] < 5
    assert data["work_lost"]["gpus"] >= 1 and data["work_lost"]["gpu_hours"] > 0


def test_status_and_processes_list_the_run(torch_run: tuple[subprocess.Popen[bytes], Path]) -> None:
    import json

    proc, _ = torch_run
    status = run_process("gpu", "status", "--json")
    assert status.returncode == 0, status.stderr
    gpus = json.loads(status.stdout)["gpus"]
    assert any(p["pid"] == proc.pid for g in gpus for p in g["processes"])
    assert all(g["memory_total"] for g in gpus if not g["is_mig"])
    listing = run_process("gpu", "processes", "--json")
    rows = [r for r in json.loads(listing.stdout)["processes"] if r["pid"] == proc.pid]
    assert rows and rows[0]["used_memory"] > 0 and "torch_trainer.py" in rows[0]["command"]
    once = run_process("gpu", "monitor", "--once")
    assert once.returncode == 0 and str(proc.pid) in once.stdout
