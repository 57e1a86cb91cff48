"""Wall-clock cost of persona commands, as whole `nexus` processes.

In a temporary git repository that already has a CLAUDE.md, an AGENTS.md and a
.claude/settings.json, runs interleaved rounds of:
  * `nexus --version`                           (the floor: start-up only)
  * `nexus persona list`                        (loads and validates every built-in persona)
  * `nexus persona add data-scientist`          (plan + checks + writes + lock)
  * `nexus persona add data-scientist` again    (plan only: nothing to change)
  * `nexus persona remove data-scientist`       (plan + restore byte for byte)
and prints medians. Target: every persona command under 300 ms on a laptop-class CPU.

    python benchmarks/personas.py [--runs 15]
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

TARGET_MS = 300.0


def _nexus() -> str:
    candidate = Path(sys.prefix) / "bin" / "nexus"
    found = str(candidate) if candidate.exists() else shutil.which("nexus")
    if not found:
        sys.exit("nexus is not installed in this environment (run `make test` or `pip install .`)")
    return found


def _time(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
    )
    return (time.perf_counter() - start) * 1000


def _project(root: Path, env: dict[str, str]) -> Path:
    repo = root / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True, env=env)
    (repo / "CLAUDE.md").write_text("# Team rules\n\nUse tabs.\n")
    (repo / "AGENTS.md").write_text("# Agents\n")
    (repo / ".claude").mkdir()
    (repo / ".claude" / "settings.json").write_text('{\n  "model": "opus"\n}\n')
    return repo


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    nexus = _nexus()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = {**os.environ, "NEXUS_HOME": str(root / "home"), "HOME": str(root)}
        repo = _project(root, env)
        original = {p: (repo / p).read_bytes() for p in ("CLAUDE.md", "AGENTS.md")}
        steps = {
            "nexus --version": ["--version"],
            "persona list": ["persona", "list"],
            "persona add (install)": ["persona", "add", "data-scientist"],
            "persona add (no change)": ["persona", "add", "data-scientist"],
            "persona remove": ["persona", "remove", "data-scientist"],
        }
        times: dict[str, list[float]] = {name: [] for name in steps}
        for _ in range(args.runs):
            for name, argv in steps.items():
                times[name].append(_time([nexus, *argv], env, repo))
        restored = all((repo / p).read_bytes() == data for p, data in original.items())
    print(f"{'command':<26} {'median ms':>10} {'min ms':>8}   ({args.runs} interleaved runs)")
    for name, values in times.items():
        print(f"{name:<26} {statistics.median(values):>10.1f} {min(values):>8.1f}")
    worst = max(statistics.median(v) for n, v in times.items() if n.startswith("persona"))
    verdict = "PASS" if worst <= TARGET_MS else "FAIL"
    print(
        f"\nslowest persona command median {worst:.1f} ms (target <= {TARGET_MS:.0f} ms): {verdict}"
    )
    print(f"user files byte-identical after {args.runs} add/remove cycles: {restored}")
    return 0 if verdict == "PASS" and restored else 1


if __name__ == "__main__":
    sys.exit(main())
