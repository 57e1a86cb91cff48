"""Read-side speed of telemetry on a large history: whole `nexus` processes, medians.

Fills a temporary $NEXUS_HOME with N realistic events spread over 365 days (one executemany in
one transaction, see nexus_cli/telemetry/synthetic.py), then times, interleaved:
  * `nexus stats --month --json`
  * `nexus insights --json`
  * `nexus dashboard --html out.html --force`
Targets on a 2-core machine: each <= 0.5 s at 1,000,000 events, <= 1.5x that (0.75 s) at 10,000,000.

    python benchmarks/telemetry.py [--events 1000000] [--runs 5]
    python benchmarks/telemetry.py --events 10000000
    python benchmarks/telemetry.py --events 1000000 --extra-history 9000000  # same last month
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 0.5


def _nexus() -> str:
    candidate = Path(sys.prefix) / "bin" / "nexus"
    found = str(candidate) if candidate.exists() else shutil.which("nexus")
    if not found:
        sys.exit("nexus is not installed in this environment (run `make test` or `pip install .`)")
    return found


def _time(cmd: list[str], env: dict[str, str], cwd: str) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=float, default=365)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--extra-history",
        type=int,
        default=0,
        metavar="N",
        help="add N more events older than 31 days (windowed work must not grow with them)",
    )
    args = parser.parse_args()
    from nexus_cli.telemetry import synthetic

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        # keep the whole year: the default 90-day retention would prune the history first
        (home / "config.json").write_text(json.dumps({"telemetry": {"retention_days": 0}}))
        env = {**os.environ, "NEXUS_HOME": str(home)}
        for key in ("NEXUS_TELEMETRY_DISABLED", "DO_NOT_TRACK"):
            env.pop(key, None)
        started = time.perf_counter()
        synthetic.fill(str(home / "telemetry.db"), args.events, args.days)
        if args.extra_history:
            synthetic.fill(
                str(home / "telemetry.db"),
                args.extra_history,
                args.days - 31,
                seed=99,
                now=time.time() - 31 * 86400,
            )
        fill_s = time.perf_counter() - started
        size_mb = (home / "telemetry.db").stat().st_size / 1e6
        print(
            f"filled {args.events + args.extra_history:,} events "
            f"({args.extra_history:,} extra older than 31 days) over {args.days:g} days "
            f"in {fill_s:.1f} s ({size_mb:.0f} MB)"
        )
        nexus = _nexus()
        cases = {
            "stats --month --json": [nexus, "stats", "--month", "--json"],
            "insights --json": [nexus, "insights", "--json"],
            "dashboard --html": [nexus, "dashboard", "--html", "out.html", "--force"],
        }
        samples: dict[str, list[float]] = {name: [] for name in cases}
        for cmd in cases.values():  # warm the page cache once
            _time(cmd, env, tmp)
        for _ in range(args.runs):
            for name, cmd in cases.items():
                samples[name].append(_time(cmd, env, tmp))
    target = TARGET_S if args.events + args.extra_history <= 1_000_000 else TARGET_S * 1.5
    print(f"\n{'command':<24} {'median':>8} {'min':>8} {'max':>8}  target <= {target:.2f} s")
    ok = True
    for name, values in samples.items():
        median = statistics.median(values)
        verdict = "PASS" if median <= target else "MISS"
        ok = ok and median <= target
        print(f"{name:<24} {median:>7.3f}s {min(values):>7.3f}s {max(values):>7.3f}s  {verdict}")
    print(
        f"\n{args.events + args.extra_history:,} events, {args.runs} interleaved runs each: "
        f"{'all targets met' if ok else 'some targets missed'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
