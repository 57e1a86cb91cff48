"""Start-up cost of `nexus`, measured against a minimal Click app in the same venv.

Runs, in one process and interleaved, N runs each of:
  * `nexus --version`                       (recording on: one telemetry row per run)
  * a minimal Click hello-world             (the floor any Click CLI pays)
  * `nexus --version` with recording off    (NEXUS_TELEMETRY_DISABLED=1)
and prints medians and ratios. Targets: nexus/click <= 1.3x, recording on/off <= 1.06x.

    python benchmarks/startup.py [--runs 40]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HELLO = """\
import click

@click.command()
@click.version_option("1.0", prog_name="hello")
def hello():
    click.echo("hello")

if __name__ == "__main__":
    hello()
"""


def _nexus() -> str:
    candidate = Path(sys.prefix) / "bin" / "nexus"
    found = str(candidate) if candidate.exists() else shutil.which("nexus")
    if not found:
        sys.exit("nexus is not installed in this environment (run `make test` or `pip install .`)")
    return found


def _time(cmd: list[str], env: dict[str, str], cwd: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
    )
    return (time.perf_counter() - start) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        hello = Path(tmp) / "hello.py"
        hello.write_text(HELLO)
        base_env = {
            **os.environ,
            "NEXUS_HOME": str(Path(tmp) / "home"),
            "PYTHONDONTWRITEBYTECODE": "0",
        }
        for key in ("NEXUS_TELEMETRY_DISABLED", "DO_NOT_TRACK"):
            base_env.pop(key, None)
        off_env = {**base_env, "NEXUS_TELEMETRY_DISABLED": "1"}
        cases = {
            "nexus --version": ([_nexus(), "--version"], base_env),
            "click hello --version": ([sys.executable, str(hello), "--version"], base_env),
            "nexus --version (recording off)": ([_nexus(), "--version"], off_env),
        }
        samples: dict[str, list[float]] = {name: [] for name in cases}
        for cmd, env in cases.values():  # warm caches and create the database once
            _time(cmd, env, tmp)
        for _ in range(args.runs):
            for name, (cmd, env) in cases.items():
                samples[name].append(_time(cmd, env, tmp))
    med = {name: statistics.median(values) for name, values in samples.items()}
    print(f"{'case':34} {'median ms':>10} {'p90 ms':>8}")
    for name, values in samples.items():
        p90 = statistics.quantiles(values, n=10)[-1]
        print(f"{name:34} {med[name]:10.1f} {p90:8.1f}")
    vs_click = med["nexus --version"] / med["click hello --version"]
    on_off = med["nexus --version"] / med["nexus --version (recording off)"]
    print()
    print(
        f"nexus --version / click hello      = {vs_click:.3f}x  (target <= 1.30x) {'OK' if vs_click <= 1.3 else 'MISSED'}"
    )
    print(
        f"recording on / recording off       = {on_off:.3f}x  (target <= 1.06x) {'OK' if on_off <= 1.06 else 'MISSED'}"
    )
    print(f"runs per case: {args.runs}, interleaved; python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
