"""Start-up cost of `nexus`, measured against a minimal Click app in the same venv.

Runs, in one process and interleaved, N runs each of:
  * `nexus --version`                       (recording on: one telemetry row per run)
  * a minimal Click hello-world             (the floor any Click CLI pays)
  * `nexus --version` with recording off    (NEXUS_TELEMETRY_DISABLED=1)
  * `nexus --version` in its default home   (no NEXUS_HOME: platformdirs finds the folder, as
                                             for most users; reported, no target)
and prints medians and ratios. Targets: nexus/click <= 1.15x (issue 23), recording on/off <= 1.06x.

With --instructions (and valgrind installed) each case also runs once under valgrind's
cachegrind, which counts the instructions the process executed: a figure that a shared, loaded
machine does not change (wall-clock medians there drift by tens of percent). On a quiet machine
the ratio of instructions has been within 0.01 of the ratio of wall-clock medians.

Then the concurrency check: 8 workers each run `nexus --version` (recording on) one after
another, --concurrent runs in all, into a fresh NEXUS_HOME; `nexus telemetry status --json`
(which folds the journal) must then count exactly that many events.

    python benchmarks/startup.py [--runs 40] [--concurrent 800] [--instructions]
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import harness

WORKERS = 8
VS_CLICK = 1.15  # nexus --version / a minimal Click app (issue 23)
DEFAULT_HOME = "nexus --version (default home)"


def interleave(cases: dict[str, harness.Case], runs: int) -> tuple[dict[str, list[float]], ...]:
    """Like harness.interleave (one uncounted round first), keeping each run's wall-clock ms and
    its CPU ms (user + system of the child, which a loaded machine inflates far less)."""
    wall: dict[str, list[float]] = {name: [] for name in cases}
    cpu: dict[str, list[float]] = {name: [] for name in cases}
    for counted in [False] + [True] * runs:
        for name, case in cases.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            ms, _ = harness.run_ms(case.cmd, case.env, case.cwd)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if counted:
                wall[name].append(ms)
                used = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
                cpu[name].append(used * 1000)
    return wall, cpu


def instructions(case: harness.Case) -> int:
    """The instructions one run of ``case`` executes, counted by valgrind (user space only).

    PYTHONHASHSEED is fixed, so that two runs of the same code execute the same instructions.
    """
    env = {**case.env, "PYTHONHASHSEED": "0"}
    done = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
         *case.cmd],
        env=env, cwd=case.cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        check=True,
    )  # fmt: skip
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if found is None:
        raise SystemExit(f"valgrind printed no instruction count:\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def _skipped(db: Path) -> str:
    """The journal records the folds skipped (maintenance.journal_skipped), for a miss's report."""
    import sqlite3

    from nexus_cli import sqlite_open

    try:
        conn = sqlite_open.open_read_only(db)
        try:
            row = conn.execute(
                "SELECT value FROM maintenance WHERE key = 'journal_skipped'"
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return f"unknown ({exc})"
    return row[0] if row else "0"


def concurrent_check(nexus: str, total: int) -> int:
    """Run `total` recorded `nexus --version` in WORKERS parallel lanes; count the events."""
    with tempfile.TemporaryDirectory() as tmp:
        env = harness.nexus_env(Path(tmp) / "home", recording_on=True)
        lanes = [total // WORKERS + (1 if i < total % WORKERS else 0) for i in range(WORKERS)]

        def lane(count: int) -> None:
            for _ in range(count):
                subprocess.run([nexus, "--version"], env=env, stdout=subprocess.DEVNULL, check=True)

        start = time.perf_counter()
        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(lane, lanes))
        elapsed = time.perf_counter() - start
        status = subprocess.run(
            [nexus, "--no-telemetry", "telemetry", "status", "--json"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        info = json.loads(status.stdout)
        events = info["events"]
        if info.get("error"):
            print(f"telemetry status: {info['error']}")
        folder = Path(tmp) / "home" / "telemetry-journal"
        left = sorted(p.name for p in folder.iterdir()) if folder.exists() else []
        skipped = _skipped(Path(tmp) / "home" / "telemetry.db")
    ok = events == total
    if not ok:
        print(f"left in the journal folder: {left}; records skipped as invalid: {skipped}")
    print(
        f"{total} recorded invocations, {WORKERS} at a time, in {elapsed:.1f} s: "
        f"{events} events after the next read  {'OK' if ok else 'MISSED'}"
    )
    return int(events)


def main() -> int:
    parser = harness.parser(__doc__, runs=40)
    parser.add_argument("--concurrent", type=int, default=800, help="0 skips the check")
    parser.add_argument(
        "--instructions", action="store_true", help="also count instructions (needs valgrind)"
    )
    args = parser.parse_args()
    if args.instructions and shutil.which("valgrind") is None:
        parser.error("--instructions needs valgrind (apt-get install valgrind)")
    nexus = harness.nexus()
    with tempfile.TemporaryDirectory() as tmp:
        hello = Path(tmp) / "hello.py"
        hello.write_text(harness.MINIMAL_CLICK)
        base_env = harness.nexus_env(Path(tmp) / "home", recording_on=True)
        # Any non-empty value (even "0") stops Python writing .pyc files: without it, the
        # warm-up round caches the bytecode of every module, as a user's installation has it.
        base_env.pop("PYTHONDONTWRITEBYTECODE", None)
        off_env = {**base_env, "NEXUS_TELEMETRY_DISABLED": "1"}
        default_env = {k: v for k, v in base_env.items() if not k.startswith("XDG_")}
        default_env.pop("NEXUS_HOME")
        default_env["HOME"] = str(Path(tmp) / "user")
        cases = {
            "nexus --version": harness.Case([nexus, "--version"], base_env, tmp),
            "click hello --version": harness.Case(
                [sys.executable, str(hello), "--version"], base_env, tmp
            ),
            "nexus --version (recording off)": harness.Case([nexus, "--version"], off_env, tmp),
            DEFAULT_HOME: harness.Case([nexus, "--version"], default_env, tmp),
        }
        # the warm-up round warms caches and creates the journal once
        samples, cpu = interleave(cases, args.runs)
        counted = (
            {name: instructions(case) for name, case in cases.items()} if args.instructions else {}
        )
    med = {name: harness.median(values) for name, values in samples.items()}
    cpu_med = {name: harness.median(values) for name, values in cpu.items()}
    harness.print_table(
        samples,
        ("case", 34),
        [
            harness.Column("median ms", harness.median, 10),
            harness.Column("p90 ms", harness.p90, 8),
        ],
        row_note=lambda name: f"   CPU median {cpu_med[name]:6.1f} ms",
    )
    vs_click = med["nexus --version"] / med["click hello --version"]
    on_off = med["nexus --version"] / med["nexus --version (recording off)"]
    print()
    print(
        f"nexus --version / click hello      = {vs_click:.3f}x  (target <= {VS_CLICK:.2f}x) "
        f"{'OK' if vs_click <= VS_CLICK else 'MISSED'}"
    )
    print(
        f"recording on / recording off       = {on_off:.3f}x  (target <= 1.06x) {'OK' if on_off <= 1.06 else 'MISSED'}"
    )
    harness.summarise(args.summary, "start-up: nexus --version / minimal Click", vs_click, VS_CLICK)
    harness.summarise(args.summary, "recording on / off (nexus --version)", on_off, 1.06)
    cpu_ratio = cpu_med["nexus --version"] / cpu_med["nexus --version (recording off)"]
    print(f"recording on / recording off, CPU  = {cpu_ratio:.3f}x  (cross-check)")
    default_ratio = med[DEFAULT_HOME] / med["click hello --version"]
    print(f"default home / click hello         = {default_ratio:.3f}x  (no target: platformdirs)")
    if counted:
        by_count = counted["nexus --version"] / counted["click hello --version"]
        print(
            f"instructions (valgrind): nexus {counted['nexus --version'] / 1e6:.1f} M, "
            f"click hello {counted['click hello --version'] / 1e6:.1f} M, recording off "
            f"{counted['nexus --version (recording off)'] / 1e6:.1f} M"
        )
        print(
            f"nexus --version / click hello, instructions = {by_count:.3f}x  (cross-check, "
            "the same on a loaded machine)"
        )
        harness.summarise(
            args.summary, "start-up instructions: nexus --version / minimal Click", by_count, None
        )
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"runs per case: {args.runs}, interleaved; python {sys.version.split()[0]}; load {load}")
    if args.concurrent:
        events = concurrent_check(nexus, args.concurrent)
        lost = abs(args.concurrent - events)
        harness.summarise(
            args.summary,
            f"{args.concurrent} concurrent invocations: events lost",
            lost,
            0,
            "events",
        )
        if lost:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
