"""Speed of `nexus gpu`: status against nvidia-smi/gpustat, the monitor's refresh, impact.

Three measurements, each printed with its target:
  1. whole processes, interleaved: `nexus gpu status --json`, `nvidia-smi --query-gpu=...
     --format=csv`, `gpustat --json` and a bare Python+NVML script (tools not installed are
     reported as "not present"; without a driver, nexus is timed to its one-line error);
  2. the monitor's per-refresh cost in-process (NVML snapshot + Rich render), per GPU, target
     <= 5 ms per GPU — with the real NVML when a driver is present, else with the in-memory
     adapter of the tests (which measures Nexus's own work, not the driver's);
  3. `nexus gpu impact PID --json` on the test trainer (a process with 2 workers writing
     checkpoints), whole process, target <= 0.5 s.

    python benchmarks/gpu.py [--runs 15]
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import harness

ROOT = harness.ROOT
sys.path.insert(0, str(ROOT))

QUERY = "index,name,uuid,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw,power.limit"
BARE_NVML = (
    "import pynvml\npynvml.nvmlInit()\n"
    "for i in range(pynvml.nvmlDeviceGetCount()):\n"
    "    h = pynvml.nvmlDeviceGetHandleByIndex(i)\n"
    "    pynvml.nvmlDeviceGetMemoryInfo(h); pynvml.nvmlDeviceGetUtilizationRates(h)\n"
)


def _interleaved(cases: dict[str, list[str]], env: dict[str, str], runs: int) -> None:
    timings = harness.interleave(  # exit codes come from the warm-up round
        {name: harness.Case(cmd, env) for name, cmd in cases.items()}, runs, check=False
    )
    harness.print_table(
        timings.samples,
        ("command", 44),
        [harness.Column("median ms", harness.median, 10), harness.Column("min ms", min, 8)],
        header_note=f" {'exit':>5}",
        row_note=lambda name: f" {timings.exit_codes[name]:5d}",
    )


def bench_status(env: dict[str, str], runs: int) -> None:
    print("1. whole-process GPU status (interleaved)")
    cases = {"nexus gpu status --json": [harness.nexus(), "gpu", "status", "--json"]}
    smi, gpustat = shutil.which("nvidia-smi"), shutil.which("gpustat")
    if smi:
        cases["nvidia-smi --query-gpu=... --format=csv"] = [
            smi,
            f"--query-gpu={QUERY}",
            "--format=csv",
        ]
    if gpustat:
        cases["gpustat --json"] = [gpustat, "--json"]
    cases["python + pynvml (bare script)"] = [sys.executable, "-c", BARE_NVML]
    _interleaved(cases, env, runs)
    print(
        f"nvidia-smi: {'present' if smi else 'not present'}; gpustat: {'present' if gpustat else 'not present'}"
    )
    if _nvml_reason() is not None:
        print(
            "no NVIDIA driver here: nexus is timed to its one-line error (exit 1), not a GPU read"
        )


def _nvml_reason() -> str | None:
    from nexus_cli.gpu import nvml
    from nexus_cli.gpu.model import GpuUnavailableError

    try:
        nvml.connect().close()
    except GpuUnavailableError as exc:
        return exc.message
    return None


def _fake_session(gpus: int) -> object:
    from nexus_cli.gpu.model import GpuProcessReading
    from tests.gpu.conftest import FakeNvml, make_gpu

    pid = os.getpid()
    devices = [make_gpu(str(i)) for i in range(gpus)]
    procs = {str(i): [GpuProcessReading(pid, str(i), 2**30, ["compute"])] for i in range(gpus)}
    return FakeNvml(devices, procs, {str(i): {pid: 50} for i in range(gpus)})


def bench_monitor(refreshes: int) -> None:
    from rich.console import Console

    from nexus_cli.gpu import nvml
    from nexus_cli.gpu.monitor import Poller, render

    print("\n2. monitor: per-refresh cost in-process (NVML snapshot + Rich render)")
    real = _nvml_reason() is None
    session = nvml.connect() if real else _fake_session(8)
    poller = Poller(session)  # type: ignore[arg-type]
    gpus = len(poller.snapshot().devices)
    console = Console(file=io.StringIO(), width=160, color_system="truecolor", force_terminal=True)
    costs = []
    for _ in range(refreshes):
        start = time.perf_counter()
        console.print(render(poller.snapshot()))
        costs.append((time.perf_counter() - start) * 1000)
        console.file = io.StringIO()
    session.close()  # type: ignore[attr-defined]
    per_gpu = harness.median(costs) / max(gpus, 1)
    adapter = (
        "real NVML" if real else "in-memory fake adapter (no driver here: excludes NVML's own time)"
    )
    print(f"adapter: {adapter}; GPUs: {gpus}; refreshes: {refreshes}")
    print(
        f"median per refresh {harness.median(costs):.2f} ms; per GPU {per_gpu:.2f} ms "
        f"(target <= 5 ms per GPU) {'OK' if per_gpu <= 5 else 'MISSED'}"
    )


def bench_impact(env: dict[str, str], runs: int) -> None:
    print(
        "\n3. nexus gpu impact PID --json on the test trainer (2 workers, checkpoints every 0.5 s)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        trainer = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "tests" / "gpu" / "trainer.py"),
                "--dir",
                f"{tmp}/ckpts",
                "--interval",
                "0.5",
            ],
            start_new_session=True,
        )
        try:
            while len(list(Path(tmp, "ckpts").glob("ckpt_*.pt"))) < 3:
                time.sleep(0.05)
            cmd = [harness.nexus(), "gpu", "impact", str(trainer.pid), "--json"]
            impact = {"impact": harness.Case(cmd, env)}  # the first, warm-up run is not counted
            samples = harness.interleave(impact, runs, check=False).samples["impact"]
        finally:
            os.killpg(trainer.pid, signal.SIGKILL)
            trainer.wait()
    med = harness.median(samples)
    print(
        f"median {med:.1f} ms, min {min(samples):.1f} ms over {runs} runs "
        f"(target <= 500 ms) {'OK' if med <= 500 else 'MISSED'}; includes a 100 ms CPU% sample"
    )


def main() -> int:
    parser = harness.parser(__doc__, runs=15)
    parser.add_argument("--refreshes", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = harness.nexus_env(home)
        bench_status(env, args.runs)
        bench_monitor(args.refreshes)
        bench_impact(env, args.runs)
    print(f"\npython {sys.version.split()[0]}; {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
