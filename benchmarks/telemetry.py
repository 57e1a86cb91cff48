"""Telemetry at scale, side by side with a baseline version of the code (default: `main`).

For each size, one database of N synthetic events over 365 days (nexus_cli/telemetry/db/synthetic.py)
is filled by the baseline's code (or taken from --from-db, a database the baseline made), and a
copy of it is opened by this tree's code, which migrates it in place (timed: `migrate`). Then,
interleaved (baseline, current, baseline, ...):

  * `nexus telemetry rebuild --json`, --rebuilds rounds after one warm-up each: the seconds the
    command reports, and the CPU seconds of the whole process (the machine is shared: wall time
    follows the load, CPU time much less);
  * the reads, whole processes, median of --runs rounds after a warm-up round:
    `stats --month --json`, `insights --json`, `dashboard --html out.html --force`,
    `export --format openmetrics -o out.prom --force`;

and reports bytes per event (the file, its WAL checkpointed, over the events it holds) and the
`uptime` load averages before and after each size. Goals (issue #30): rebuild <= 1/3 of the
baseline at 1M and <= 20 s at 10M, <= 150 bytes per event at 1M, each read <= 0.25 s.

    python benchmarks/telemetry.py [--events 1000000,10000000] [--baseline main] [--runs 5]
    python benchmarks/telemetry.py --events 1000000 --from-db old.db   # skip the fill
    python benchmarks/telemetry.py --events 1000000,10000000 \\
        --from-db 1000000=m1.db,10000000=m10.db --rebuilds 1 --warm-up-rebuilds 0

Reads are timed as wall-clock seconds and as the CPU seconds of the process (user + system):
on a shared machine the wall time follows the load, the CPU time much less.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import harness

READ_TARGET_S = 0.25
BYTES_TARGET = 150
REBUILD_RATIO_TARGET = 1 / 3
CASES = {
    "stats": ["stats", "--month", "--json"],
    "insights": ["insights", "--json"],
    "dashboard": ["dashboard", "--html", "out.html", "--force"],
    "export": ["export", "--format", "openmetrics", "-o", "out.prom", "--force"],
}
# Runs `nexus` from the tree given first (ahead of any installed nexus_cli on sys.path).
RUN_NEXUS = (
    "import sys; sys.path.insert(0, sys.argv[1]); sys.argv = ['nexus', *sys.argv[2:]]; "
    "from nexus_cli.__main__ import run; run()"
)
FILL = (
    "import sys; sys.path.insert(0, sys.argv[1]); from nexus_cli.telemetry.db import synthetic; "
    "synthetic.fill(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))"
)
MIGRATE = (
    "import sys, time; sys.path.insert(0, sys.argv[1]); from nexus_cli.telemetry.db import store; "
    "t = time.perf_counter()\nwith store.migrated(sys.argv[2]): pass\n"
    "print(time.perf_counter() - t)"
)


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def baseline_tree(ref: str, into: Path) -> Path:
    """The files of ``ref`` (a commit of this repository) in ``into``, via `git archive`."""
    into.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(harness.ROOT), "archive", ref], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def nexus_cmd(tree: Path, *argv: str) -> list[str]:
    return [sys.executable, "-c", RUN_NEXUS, str(tree), *argv]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def rebuild(tree: Path, env: dict[str, str]) -> tuple[float, float]:
    """(seconds the rebuild reports, CPU seconds of its process)."""
    before = _cpu()
    done = subprocess.run(
        nexus_cmd(tree, "--no-telemetry", "telemetry", "rebuild", "--json"),
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(json.loads(done.stdout)["seconds"]), _cpu() - before


def reads(
    trees: dict[str, Path], envs: dict[str, dict[str, str]], homes: dict[str, Path], runs: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Medians of wall and CPU seconds per "case name", whole processes, interleaved (case by
    case, baseline then current), after one uncounted round."""
    walls: dict[str, list[float]] = {}
    cpus: dict[str, list[float]] = {}
    for counted in [False] + [True] * runs:
        for case, argv in CASES.items():
            for name, tree in trees.items():
                before, started = _cpu(), time.perf_counter()
                subprocess.run(
                    nexus_cmd(tree, "--no-telemetry", *argv), env=envs[name], cwd=homes[name],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                )  # fmt: skip
                wall, cpu = time.perf_counter() - started, _cpu() - before
                if counted:
                    walls.setdefault(f"{case} {name}", []).append(wall)
                    cpus.setdefault(f"{case} {name}", []).append(cpu)
    return (
        {k: round(harness.median(v), 3) for k, v in walls.items()},
        {k: round(harness.median(v), 3) for k, v in cpus.items()},
    )


def note(line: str) -> None:
    """A step's figure on stderr as soon as it is known (a long run cut short keeps them)."""
    print(f"[{load()}] {line}", file=sys.stderr, flush=True)


def roll_ups_current(path: Path) -> None:
    """Mark the roll-ups of a baseline file as up to date (``rollup_mark`` = the last event id)
    without building them: ``telemetry rebuild`` of `main` brings them up to date before it
    drops and builds them, which on a file without them (a fill) would build them twice in the
    timed process. Without warm-up rounds the timed rebuild then builds them once, like this
    tree's, which does not bring them up to date first."""
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.execute(
                "INSERT INTO maintenance (key, value) SELECT 'rollup_mark', "
                "CAST(coalesce(max(id), 0) AS TEXT) FROM events WHERE true "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
            )
    finally:
        conn.close()


def bytes_per_event(path: Path) -> tuple[float, int]:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    finally:
        conn.close()
    return path.stat().st_size / max(events, 1), events


def measure(
    trees: dict[str, Path],
    events: int,
    days: float,
    runs: int,
    rebuilds: tuple[int, int],
    source: str | None,
) -> dict[str, Any]:
    result: dict[str, Any] = {"events": events, "load_before": load()}
    with tempfile.TemporaryDirectory() as tmp:
        homes = {name: Path(tmp) / name for name in trees}
        for home in homes.values():
            home.mkdir()
            # keep the whole year: the default 90-day retention would prune the history first
            (home / "config.json").write_text(json.dumps({"telemetry": {"retention_days": 0}}))
        first = homes["baseline"] / "telemetry.db"
        started = time.perf_counter()
        if source:
            shutil.copy(source, first)
        else:
            subprocess.run(
                [sys.executable, "-c", FILL, str(trees["baseline"]), str(first), str(events),
                 str(days)],
                check=True,
            )  # fmt: skip
        result["fill_s"] = round(time.perf_counter() - started, 1)
        shutil.copy(first, homes["current"] / "telemetry.db")
        migrated = subprocess.run(
            [sys.executable, "-c", MIGRATE, str(trees["current"]),
             str(homes["current"] / "telemetry.db")],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        result["migrate_s"] = round(float(migrated.stdout), 1)
        note(f"{events:,}: migration of the baseline's file by this tree {result['migrate_s']} s")
        warm_ups, counted_rounds = rebuilds  # a warm-up builds what the fill left
        if warm_ups == 0:
            roll_ups_current(first)
        envs = {
            name: {**harness.nexus_env(home, recording_on=True), "PYTHONPATH": str(trees[name])}
            for name, home in homes.items()
        }
        for env in envs.values():
            env.pop("PYTHONDONTWRITEBYTECODE", None)
        walls: dict[str, list[float]] = {name: [] for name in trees}
        cpus: dict[str, list[float]] = {name: [] for name in trees}
        for counted in [False] * warm_ups + [True] * counted_rounds:
            for name, tree in trees.items():
                wall, cpu = rebuild(tree, envs[name])
                note(f"{events:,}: {name} rebuild {wall:.2f} s reported, CPU {cpu:.1f} s")
                if counted:
                    walls[name].append(wall)
                    cpus[name].append(cpu)
        result["rebuild_s"] = {n: round(harness.median(v), 2) for n, v in walls.items()}
        result["rebuild_cpu_s"] = {n: round(harness.median(v), 2) for n, v in cpus.items()}
        result["reads_s"], result["reads_cpu_s"] = reads(trees, envs, homes, runs)
        sizes = {name: bytes_per_event(homes[name] / "telemetry.db") for name in trees}
        result["bytes_per_event"] = {n: round(size) for n, (size, _) in sizes.items()}
        result["events_kept"] = {n: count for n, (_, count) in sizes.items()}
    result["load_after"] = load()
    return result


def report(r: dict[str, Any]) -> list[str]:
    base, cur = r["rebuild_s"]["baseline"], r["rebuild_s"]["current"]
    cpu_base, cpu_cur = r["rebuild_cpu_s"]["baseline"], r["rebuild_cpu_s"]["current"]
    lines = [
        f"{r['events']:,} events (load before {r['load_before']}, after {r['load_after']}; "
        f"fill {r['fill_s']} s, migration of the baseline's file {r['migrate_s']} s)",
        f"  rebuild      baseline {base:8.2f} s  current {cur:8.2f} s  ratio {cur / base:.2f}"
        f"   (CPU {cpu_base:.1f} s vs {cpu_cur:.1f} s, ratio {cpu_cur / cpu_base:.2f})",
        f"  bytes/event  baseline {r['bytes_per_event']['baseline']:8d}    current "
        f"{r['bytes_per_event']['current']:8d}",
    ]
    for case in CASES:
        b, c = r["reads_s"][f"{case} baseline"], r["reads_s"][f"{case} current"]
        cb, cc = r["reads_cpu_s"][f"{case} baseline"], r["reads_cpu_s"][f"{case} current"]
        lines.append(
            f"  {case:<12} baseline {b:8.3f} s  current {c:8.3f} s   (CPU {cb:.3f} s vs {cc:.3f} s)"
        )
    return lines


def verdict(r: dict[str, Any]) -> bool:
    ratio = r["rebuild_s"]["current"] / r["rebuild_s"]["baseline"]
    reads = all(v <= READ_TARGET_S for k, v in r["reads_s"].items() if k.endswith("current"))
    size = r["bytes_per_event"]["current"] <= BYTES_TARGET
    rebuild_ok = ratio <= REBUILD_RATIO_TARGET if r["events"] <= 1_000_000 else (
        r["rebuild_s"]["current"] <= 20
    )  # fmt: skip
    return reads and size and rebuild_ok


def from_db(text: str | None) -> dict[int, str]:
    """``--from-db``: ``PATH`` (for every size, key 0) or ``N=PATH,N=PATH``."""
    if not text:
        return {}
    if "=" not in text:
        return {0: text}
    pairs = (item.split("=", 1) for item in text.split(","))
    return {int(size): path for size, path in pairs}


def main() -> int:
    parser = harness.parser(__doc__, runs=5)
    parser.add_argument("--events", default="1000000", help="comma-separated sizes")
    parser.add_argument("--days", type=float, default=365)
    parser.add_argument("--baseline", default="main", help="git ref to compare with")
    parser.add_argument("--rebuilds", type=int, default=2, help="timed rebuilds per version")
    parser.add_argument(
        "--warm-up-rebuilds", type=int, default=1,
        help="uncounted rebuilds first (0 when --from-db files hold their roll-ups already)",
    )  # fmt: skip
    parser.add_argument(
        "--from-db",
        help="a database the baseline made, or one per size: N=PATH[,N=PATH] (skips the fill)",
    )
    parser.add_argument("--json", dest="as_json", action="store_true")
    args = parser.parse_args()
    import compileall

    results = []
    sources = from_db(args.from_db)
    with tempfile.TemporaryDirectory() as tmp:
        trees = {
            "baseline": baseline_tree(args.baseline, Path(tmp) / "baseline"),
            "current": harness.ROOT,
        }
        for tree in trees.values():
            compileall.compile_dir(str(tree / "nexus_cli"), quiet=1)  # as an install would have
        print(f"baseline {args.baseline} ({trees['baseline']}), current {harness.ROOT}")
        for events in (int(n) for n in args.events.split(",")):
            r = measure(
                trees, events, args.days, args.runs, (args.warm_up_rebuilds, args.rebuilds),
                sources.get(events, sources.get(0)),
            )  # fmt: skip
            results.append(r)
            print("\n".join(report(r)), flush=True)
            harness.summarise(args.summary, f"rebuild at {events:,}", r["rebuild_s"]["current"],
                              None, "s")  # fmt: skip
            harness.summarise(args.summary, f"bytes/event at {events:,}",
                              r["bytes_per_event"]["current"], BYTES_TARGET, "B")  # fmt: skip
    if args.as_json:
        print(json.dumps(results, indent=2))
    ok = all(verdict(r) for r in results)
    print(f"\ngoals (rebuild <= 1/3 at 1M, <= 20 s at 10M; <= {BYTES_TARGET} B/event; reads "
          f"<= {READ_TARGET_S} s): {'met' if ok else 'missed'}")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
