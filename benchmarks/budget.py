"""The performance budget in one run: every headline ratio and figure, with the machine described.

Runs, one after the other, each benchmark in a short mode and collects its headline figures:
  * start-up: `nexus --version` / a minimal Click app          (startup.py, target <= 1.3x)
  * recording on / off, and N concurrent invocations counted    (startup.py, <= 1.06x, 0 lost)
  * `workspace create -t bare` / (git worktree add + minimal Click)  (workspace.py, reported only:
    its 1.5x target was withdrawn with the hand-written standard-library stand-ins)
  * `stats --month --json`, `insights --json`, `dashboard --html` at 1M events (telemetry.py,
    <= 0.5 s each)
then prints one table (figure, target, verdict) and exits 1 when a figure misses its target.
`make bench` runs it; each benchmark's own script gives the full detail.

    python benchmarks/budget.py [--runs 40] [--concurrent 800] [--events 1000000] [--shapes generator]
        [--skip NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor()
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f", {int(line.split()[1]) / 1024 / 1024:.0f} GiB"
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} CPUs ({model or 'unknown model'}){memory}; {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}"
    )


def _run(script: str, args: list[str], summary: Path) -> int:
    print(f"\n$ python benchmarks/{script} {' '.join(args)}", flush=True)
    cmd = [sys.executable, str(HERE / script), *args, "--summary", str(summary)]
    return subprocess.run(cmd, check=False).returncode


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=40, help="start-up runs per case")
    parser.add_argument("--bare-runs", type=int, default=25)
    parser.add_argument("--concurrent", type=int, default=800, help="0 skips the count")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--shapes", default="generator", help="telemetry.py's shapes")
    parser.add_argument(
        "--skip", action="append", default=[], choices=["startup", "workspace", "telemetry"]
    )
    args = parser.parse_args()
    started = time.perf_counter()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        summary = Path(tmp) / "summary.jsonl"
        summary.touch()
        failed = []
        plan = {
            "startup": (
                "startup.py",
                ["--runs", str(args.runs), "--concurrent", str(args.concurrent)],
            ),
            "workspace": ("workspace.py", ["--bare-only", "--bare-runs", str(args.bare_runs)]),
            "telemetry": (
                "telemetry.py",
                ["--events", str(args.events), "--shapes", args.shapes, "--runs", "3"],
            ),
        }
        for name, (script, extra) in plan.items():
            if name not in args.skip and _run(script, extra, summary) not in (0, 1):
                failed.append(script)
        figures = [json.loads(line) for line in summary.read_text().splitlines() if line]
    load_after = os.getloadavg()
    print("\nPerformance budget")
    print(f"machine: {_machine()}")
    print(
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after; "
        f"{time.perf_counter() - started:.0f} s in all"
    )
    width = max([len(f["name"]) for f in figures] + [6])
    print(f"{'figure':<{width}}  {'value':>10}  {'target':>10}  verdict")
    missed = 0
    for fig in figures:
        value = f"{fig['value']:.3f}{fig['unit']}" if fig["unit"] in ("x", "s") else fig["value"]
        if fig["target"] is None:  # reported, not judged
            print(f"{fig['name']:<{width}}  {value:>10}  {'-':>10}  -")
            continue
        ok = fig["value"] <= fig["target"]
        missed += not ok
        target = f"<= {fig['target']}{fig['unit'] if fig['unit'] in ('x', 's') else ''}"
        print(f"{fig['name']:<{width}}  {value:>10}  {target:>10}  {'OK' if ok else 'MISSED'}")
    for script in failed:
        print(f"{script} did not finish (see its output above)")
    return 1 if missed or failed or not figures else 0


if __name__ == "__main__":
    sys.exit(main())
