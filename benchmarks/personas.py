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

import subprocess
import sys
import tempfile
from pathlib import Path

import harness

TARGET_MS = 300.0


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
    args = harness.parser(__doc__, runs=15).parse_args()
    nexus = harness.nexus()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = harness.nexus_env(root / "home", HOME=str(root))
        repo = _project(root, env)
        original = {p: (repo / p).read_bytes() for p in ("CLAUDE.md", "AGENTS.md")}
        steps = {
            "nexus --version": ["--version"],
            "persona list": ["persona", "list"],
            "persona add (install)": ["persona", "add", "data-scientist"],
            "persona add (no change)": ["persona", "add", "data-scientist"],
            "persona remove": ["persona", "remove", "data-scientist"],
        }
        cases = {name: harness.Case([nexus, *argv], env, repo) for name, argv in steps.items()}
        times = harness.interleave(cases, args.runs, warm_up=False).samples
        restored = all((repo / p).read_bytes() == data for p, data in original.items())
    harness.print_table(
        times,
        ("command", 26),
        [harness.Column("median ms", harness.median, 10), harness.Column("min ms", min, 8)],
        header_note=f"   ({args.runs} interleaved runs)",
    )
    worst = max(harness.median(v) for n, v in times.items() if n.startswith("persona"))
    verdict = "PASS" if worst <= TARGET_MS else "FAIL"
    print(
        f"\nslowest persona command median {worst:.1f} ms (target <= {TARGET_MS:.0f} ms): {verdict}"
    )
    print(f"user files byte-identical after {args.runs} add/remove cycles: {restored}")
    return 0 if verdict == "PASS" and restored else 1


if __name__ == "__main__":
    sys.exit(main())
