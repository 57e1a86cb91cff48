"""Shell completion cost: what a TAB press costs, measured against `nexus --version`.

Runs, interleaved in one process, N runs each of:
  * `nexus --version` (recording off)                   the start-up floor
  * completing a subcommand name (`nexus <TAB>`)          imports no command module
  * completing task IDs with titles (`nexus task show nx-<TAB>`, 200 tasks)
as zsh asks for them (`_NEXUS_COMPLETE=zsh_complete`). Target: each completion <= 60 ms.

    python benchmarks/completion.py [--runs 30]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import harness


def main() -> int:
    args = harness.parser(__doc__, runs=30).parse_args()
    nexus = harness.nexus()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        project.mkdir()
        env = harness.nexus_env(Path(tmp) / "home", NEXUS_TELEMETRY_DISABLED="1")
        for command in (
            ["git", "init", "-q", "-b", "main"],
            ["git", "commit", "-q", "--allow-empty", "-m", "i"],
        ):
            subprocess.run(command, cwd=project, env=env, check=True)
        subprocess.run([nexus, "init"], cwd=project, env=env, check=True, capture_output=True)
        for i in range(200):
            subprocess.run(
                [nexus, "task", "create", f"Task number {i}, with a comma", "--gate", "true"],
                cwd=project,
                env=env,
                check=True,
                capture_output=True,
            )

        def completing(words: str, cword: int) -> dict[str, str]:
            return {
                **env,
                "_NEXUS_COMPLETE": "zsh_complete",
                "COMP_WORDS": words,
                "COMP_CWORD": str(cword),
            }

        cases = {
            "nexus --version": harness.Case([nexus, "--version"], env, str(project)),
            "complete `nexus `": harness.Case([nexus], completing("nexus ", 1), str(project)),
            "complete `nexus task show nx-`": harness.Case(
                [nexus], completing("nexus task show nx-", 3), str(project)
            ),
        }
        samples = harness.interleave(cases, args.runs).samples
    harness.print_table(
        samples,
        ("case", 34),
        [harness.Column("median ms", harness.median, 10), harness.Column("p90 ms", harness.p90, 8)],
    )
    print()
    for name in ("complete `nexus `", "complete `nexus task show nx-`"):
        value = harness.median(samples[name])
        print(f"{name:34} {value:6.1f} ms  (target <= 60 ms) {'OK' if value <= 60 else 'MISSED'}")
    print(f"runs per case: {args.runs}, interleaved; python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
