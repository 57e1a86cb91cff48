"""Read-side speed of telemetry on a large history, per shape of data: whole `nexus` processes.

For each size and shape, fills a temporary $NEXUS_HOME with N events spread evenly over 365 days
(executemany in transactions of 500,000), builds the roll-ups once (`nexus telemetry rebuild`,
timed), then times, interleaved (median of --runs rounds after one warm-up round):
  * `nexus stats --month --json`
  * `nexus insights --json`
  * `nexus dashboard --html out.html --force`
and checks every roll-up percentile of `stats --month` against the exact one (same window):
|approx - exact| <= 1% of exact + 0.5 ms (docs/telemetry.md). Target: each <= 0.5 s.

Shapes: generator (nexus_cli/telemetry/db/synthetic.py: 17 commands, log-normal durations, 8%
errors, signals), sessions (7 commands, sessions of 40-50, uniform durations, 10% errors), skewed
(Pareto durations), errors (30% errors); see benchmarks/telemetry_shapes.py.

    python benchmarks/telemetry.py [--events 1000000] [--shapes generator,sessions] [--runs 5]
    python benchmarks/telemetry.py --events 10000000
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import harness
import telemetry_shapes

TARGET_S = 0.5
SHAPES = ("generator", "sessions", "skewed", "errors")
CASES = {
    "stats": ["stats", "--month", "--json"],
    "insights": ["insights", "--json"],
    "dashboard": ["dashboard", "--html", "out.html", "--force"],
}


def _fill(path: str, shape: str, events: int, days: float) -> None:
    if shape == "generator":
        from nexus_cli.telemetry.db import synthetic

        synthetic.fill(path, events, days)
    else:
        telemetry_shapes.fill(path, shape, events, days)


def _percentile_error(path: str) -> tuple[float, int]:
    """The largest error of roll-up percentiles beyond the bound (<= 0: within), and how many."""
    from nexus_cli.telemetry.db import store
    from nexus_cli.telemetry.query import stats, window

    month = window.resolve(month=True)
    with store.opened(path) as db:
        rolled = stats.compute(db, month)["commands"]
        exact = {c["command"]: c for c in stats.compute(db, month, exact=True)["commands"]}
    worst, checked = 0.0, 0
    for c in rolled:
        for key in ("median_ms", "p95_ms"):
            e = exact[c["command"]][key]
            if e is None:
                continue
            checked += 1
            worst = max(worst, abs(c[key] - e) / max(e, 1) - 0.5 / max(e, 1))
    return worst, checked


def measure(shape: str, events: int, days: float, runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        # keep the whole year: the default 90-day retention would prune the history first
        (home / "config.json").write_text(json.dumps({"telemetry": {"retention_days": 0}}))
        db = str(home / "telemetry.db")
        started = time.perf_counter()
        _fill(db, shape, events, days)
        fill_s = time.perf_counter() - started
        env = harness.nexus_env(home, recording_on=True)
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # installs have .pyc files; main() writes them
        nexus = harness.nexus()
        rebuilt = subprocess.run(
            [nexus, "--no-telemetry", "telemetry", "rebuild", "--json"],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        build_s = json.loads(rebuilt.stdout)["seconds"]
        cases = {name: harness.Case([nexus, *argv], env, tmp) for name, argv in CASES.items()}
        samples = harness.interleave(cases, runs).seconds()
        worst, checked = _percentile_error(db)
        size_mb = Path(db).stat().st_size / 1e6
    return {
        "shape": shape,
        "events": events,
        "fill_s": round(fill_s, 1),
        "build_s": build_s,
        "size_mb": round(size_mb),
        "median_s": {name: round(harness.median(v), 3) for name, v in samples.items()},
        "percentiles_checked": checked,
        "within_bound": worst <= 1e-9 + 0.01,
        "worst_relative_error": round(worst + 0.0, 5),
    }


def main() -> int:
    parser = harness.parser(__doc__, runs=5)
    parser.add_argument("--events", default="1000000", help="comma-separated sizes")
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--days", type=float, default=365)
    parser.add_argument("--json", dest="as_json", action="store_true")
    args = parser.parse_args()
    import compileall

    compileall.compile_dir(str(harness.ROOT / "nexus_cli"), quiet=1)  # as an install would have
    results = []
    for events in (int(n) for n in args.events.split(",")):
        for shape in args.shapes.split(","):
            result = measure(shape, events, args.days, args.runs)
            results.append(result)
            timings = "  ".join(f"{k} {v:.3f} s" for k, v in result["median_s"].items())
            verdict = all(v <= TARGET_S for v in result["median_s"].values())
            for case, seconds in result["median_s"].items():
                name = f"{case} at {events:,} events ({shape})"
                harness.summarise(args.summary, name, seconds, TARGET_S, "s")
            print(
                f"{shape:<10} {events:>11,}  {timings}  build {result['build_s']:.1f} s  "
                f"fill {result['fill_s']:.0f} s  {result['size_mb']} MB  "
                f"percentiles {'within' if result['within_bound'] else 'OUTSIDE'} 1% "
                f"({result['percentiles_checked']})  {'PASS' if verdict else 'MISS'}",
                flush=True,
            )
    if args.as_json:
        print(json.dumps(results, indent=2))
    ok = all(
        r["within_bound"] and all(v <= TARGET_S for v in r["median_s"].values()) for r in results
    )
    print(
        f"\ntarget <= {TARGET_S} s each, {args.runs} interleaved runs: {'met' if ok else 'missed'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
