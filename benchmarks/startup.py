"""Start-up cost of `nexus`, measured against a minimal Click app in the same venv.

Runs, in one process and interleaved, N runs each of:
  * `nexus --version`                       (recording on: one telemetry row per run)
  * a minimal Click hello-world             (the floor any Click CLI pays)
  * `nexus --version` with recording off    (NEXUS_TELEMETRY_DISABLED=1)
and prints medians and ratios. Targets: nexus/click <= 1.3x, recording on/off <= 1.06x.

    python benchmarks/startup.py [--runs 40]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import harness

HELLO = """\
import click

@click.command()
@click.version_option("1.0", prog_name="hello")
def hello():
    click.echo("hello")

if __name__ == "__main__":
    hello()
"""


def main() -> int:
    args = harness.parser(__doc__, runs=40).parse_args()
    nexus = harness.nexus()
    with tempfile.TemporaryDirectory() as tmp:
        hello = Path(tmp) / "hello.py"
        hello.write_text(HELLO)
        base_env = harness.nexus_env(
            Path(tmp) / "home", recording_on=True, PYTHONDONTWRITEBYTECODE="0"
        )
        off_env = {**base_env, "NEXUS_TELEMETRY_DISABLED": "1"}
        cases = {
            "nexus --version": harness.Case([nexus, "--version"], base_env, tmp),
            "click hello --version": harness.Case(
                [sys.executable, str(hello), "--version"], base_env, tmp
            ),
            "nexus --version (recording off)": harness.Case([nexus, "--version"], off_env, tmp),
        }
        # the warm-up round warms caches and creates the database once
        samples = harness.interleave(cases, args.runs).samples
    med = {name: harness.median(values) for name, values in samples.items()}
    harness.print_table(
        samples,
        ("case", 34),
        [harness.Column("median ms", harness.median, 10), harness.Column("p90 ms", harness.p90, 8)],
    )
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
