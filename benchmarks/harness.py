"""What every benchmark shares: the venv's `nexus`, timing whole processes, interleaved rounds,
medians and percentiles, the results table, and the environment of a temporary NEXUS_HOME.

A benchmark runs as `python benchmarks/<name>.py` from any folder: Python puts the script's own
folder first on sys.path, so `import harness` finds this file; nothing here depends on the cwd.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository
OPT_OUT_VARIABLES = ("NEXUS_TELEMETRY_DISABLED", "DO_NOT_TRACK")
# The floor any Click CLI pays: the reference the start-up and bare-create ratios divide by.
MINIMAL_CLICK = """\
import click

@click.command()
@click.version_option("1.0", prog_name="minimal")
def minimal():
    click.echo("minimal")

if __name__ == "__main__":
    minimal()
"""


def parser(doc: str | None, runs: int) -> argparse.ArgumentParser:
    """An argument parser showing the benchmark's docstring, with `--runs` (default `runs`)."""
    result = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    result.add_argument("--runs", type=int, default=runs)
    result.add_argument(
        "--summary",
        type=Path,
        metavar="FILE",
        help="also append each headline figure to FILE as one JSON line (benchmarks/budget.py)",
    )
    return result


def summarise(
    file: Path | None, name: str, value: float, target: float | None, unit: str = "x"
) -> None:
    """Append one headline figure (`value` against `target`, lower is better) to `file`.

    A `target` of None reports the figure without judging it.
    """
    if file is None:
        return
    import json

    line = {"name": name, "value": round(value, 4), "target": target, "unit": unit}
    with file.open("a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")


def nexus() -> str:
    """The `nexus` executable of the running Python's environment (else the one on PATH)."""
    candidate = Path(sys.prefix) / "bin" / "nexus"
    found = str(candidate) if candidate.exists() else shutil.which("nexus")
    if not found:
        sys.exit("nexus is not installed in this environment (run `make test` or `pip install .`)")
    return found


def nexus_env(home: Path | str, *, recording_on: bool = False, **extra: str) -> dict[str, str]:
    """This process's environment with NEXUS_HOME at `home`, plus `extra` variables.

    `recording_on` drops the telemetry opt-outs (NEXUS_TELEMETRY_DISABLED, DO_NOT_TRACK) so that
    every run records its event as a user's would.
    """
    env = {**os.environ, "NEXUS_HOME": str(home), **extra}
    if recording_on:
        for key in OPT_OUT_VARIABLES:
            env.pop(key, None)
    return env


def run_ms(
    cmd: Sequence[str],
    env: Mapping[str, str],
    cwd: Path | str | None = None,
    *,
    check: bool = True,
    stderr: int | None = subprocess.DEVNULL,
) -> tuple[float, int]:
    """Run one whole process (stdout discarded); its wall-clock milliseconds and exit code."""
    start = time.perf_counter()
    code = subprocess.run(
        list(cmd), env=dict(env), cwd=cwd, stdout=subprocess.DEVNULL, stderr=stderr, check=check
    ).returncode
    return (time.perf_counter() - start) * 1000, code


def time_ms(
    cmd: Sequence[str],
    env: Mapping[str, str],
    cwd: Path | str | None = None,
    *,
    stderr: int | None = subprocess.DEVNULL,
) -> float:
    """Milliseconds one whole process takes; a non-zero exit raises CalledProcessError."""
    return run_ms(cmd, env, cwd, stderr=stderr)[0]


@dataclass(frozen=True)
class Case:
    """One command to time: argv, environment and working folder."""

    cmd: list[str]
    env: Mapping[str, str]
    cwd: Path | str | None = None


@dataclass
class Timings:
    samples: dict[str, list[float]]  # milliseconds per run, in the order the cases were given
    exit_codes: dict[str, int] = field(default_factory=dict)  # each case's first exit code

    def seconds(self) -> dict[str, list[float]]:
        return {name: [ms / 1000 for ms in values] for name, values in self.samples.items()}


def interleave(
    cases: Mapping[str, Case],
    runs: int,
    *,
    warm_up: bool = True,
    check: bool = True,
    stderr: int | None = subprocess.DEVNULL,
) -> Timings:
    """`runs` rounds, each running every case once in turn, so that drift hits all cases alike.

    With `warm_up`, one uncounted round first (caches, databases created on first use).
    """
    timings = Timings({name: [] for name in cases})
    for counted in ([False] if warm_up else []) + [True] * runs:
        for name, case in cases.items():
            ms, code = run_ms(case.cmd, case.env, case.cwd, check=check, stderr=stderr)
            timings.exit_codes.setdefault(name, code)
            if counted:
                timings.samples[name].append(ms)
    return timings


median = statistics.median


def p90(values: Sequence[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]


@dataclass(frozen=True)
class Column:
    """A column of the results table: a statistic of each case's samples."""

    header: str
    stat: Callable[[list[float]], float]
    width: int
    digits: int = 1
    unit: str = ""  # printed right after the number, inside `width`

    def cell(self, values: list[float]) -> str:
        return f"{self.stat(values):>{self.width - len(self.unit)}.{self.digits}f}{self.unit}"


def print_table(
    samples: Mapping[str, list[float]],
    first: tuple[str, int],
    columns: Sequence[Column],
    *,
    header_note: str = "",
    row_note: Callable[[str], str] | None = None,
) -> None:
    """One line per case: its name (`first` = header and width), then each column's statistic.

    `header_note` ends the header line; `row_note(name)` ends the case's line (a verdict, say).
    """
    title, width = first
    headers = [f"{title:<{width}}", *(f"{c.header:>{c.width}}" for c in columns)]
    print(" ".join(headers) + header_note)
    for name, values in samples.items():
        cells = [f"{name:<{width}}", *(c.cell(values) for c in columns)]
        print(" ".join(cells) + (row_note(name) if row_note else ""))
