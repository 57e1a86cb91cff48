"""Read-side speed of telemetry on a large history: whole `nexus` processes, medians.

Fills a temporary $NEXUS_HOME with N realistic events spread over 365 days (one executemany in
one transaction, see nexus_cli/telemetry/store/synthetic.py), then times, interleaved:
  * `nexus stats --month --json`
  * `nexus insights --json`
  * `nexus dashboard --html out.html --force`
Targets on a 2-core machine: each <= 0.5 s at 1,000,000 events, <= 1.5x that (0.75 s) at 10,000,000.

    python benchmarks/telemetry.py [--events 1000000] [--runs 5]
    python benchmarks/telemetry.py --events 10000000
    python benchmarks/telemetry.py --events 1000000 --extra-history 9000000  # same last month
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import harness

TARGET_S = 0.5


def main() -> int:
    parser = harness.parser(__doc__, runs=5)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=float, default=365)
    parser.add_argument(
        "--extra-history",
        type=int,
        default=0,
        metavar="N",
        help="add N more events older than 31 days (windowed work must not grow with them)",
    )
    args = parser.parse_args()
    from nexus_cli.telemetry.store import synthetic

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        # keep the whole year: the default 90-day retention would prune the history first
        (home / "config.json").write_text(json.dumps({"telemetry": {"retention_days": 0}}))
        env = harness.nexus_env(home, recording_on=True)
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
        nexus = harness.nexus()
        cases = {
            "stats --month --json": [nexus, "stats", "--month", "--json"],
            "insights --json": [nexus, "insights", "--json"],
            "dashboard --html": [nexus, "dashboard", "--html", "out.html", "--force"],
        }
        samples = harness.interleave(  # after one round warming the page cache
            {name: harness.Case(cmd, env, tmp) for name, cmd in cases.items()},
            args.runs,
            stderr=None,
        ).seconds()
    target = TARGET_S if args.events + args.extra_history <= 1_000_000 else TARGET_S * 1.5
    ok = all(harness.median(values) <= target for values in samples.values())
    print()
    harness.print_table(
        samples,
        ("command", 24),
        [
            harness.Column("median", harness.median, 8, digits=3, unit="s"),
            harness.Column("min", min, 8, digits=3, unit="s"),
            harness.Column("max", max, 8, digits=3, unit="s"),
        ],
        header_note=f"  target <= {target:.2f} s",
        row_note=lambda name: f"  {'PASS' if harness.median(samples[name]) <= target else 'MISS'}",
    )
    print(
        f"\n{args.events + args.extra_history:,} events, {args.runs} interleaved runs each: "
        f"{'all targets met' if ok else 'some targets missed'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
