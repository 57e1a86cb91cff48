"""The agent hooks at scale: each installed hook command, run as Claude Code runs it, at 10,000 tasks.

Builds the 10,000-task project of benchmarks/tasks.py, installs the Claude Code hooks with
`nexus hooks install --client claude`, claims a task whose gate has failed, and times interleaved
runs of every hook command exactly as the settings file holds it (`sh -c COMMAND`, the client's
JSON on stdin), beside `nexus --version` (the floor any `nexus` process pays on this machine)
and a bare Python start (`python -c pass`, the floor any Python process pays). On a loaded machine
the ratio of a hook to `nexus --version` says more than the seconds: the load average is printed.
Bytecode is written and used (PYTHONDONTWRITEBYTECODE is dropped), as in an installed Nexus.
Target: each hook's median <= 0.150 s.

    python benchmarks/hooks.py [--runs 15] [--tasks 10000]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import harness
import tasks

TARGET_S = 0.150


def payloads(root: Path, task: str) -> dict[str, dict[str, object]]:
    common = {"session_id": "bench", "transcript_path": "/dev/null", "cwd": str(root)}
    return {
        "SessionStart": {**common, "hook_event_name": "SessionStart", "source": "compact"},
        "Stop": {**common, "hook_event_name": "Stop", "stop_hook_active": False},
        "SubagentStop": {
            **common,
            "hook_event_name": "SubagentStop",
            "stop_hook_active": False,
            "agent_id": "a1",
            "agent_type": "general-purpose",
        },
        "TaskCompleted": {
            **common,
            "hook_event_name": "TaskCompleted",
            "task_id": "1",
            "task_subject": f"Finish {task}",
        },
    }


def run_once(cmd: list[str], stdin: str, env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, input=stdin, text=True, env=env, cwd=cwd, capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    parser = harness.parser(__doc__, runs=15)
    parser.add_argument("--tasks", type=int, default=10000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bin_dir = str(Path(harness.nexus()).parent)
        env = harness.nexus_env(Path(tmp) / "home", NEXUS_AGENT="bench-hooks")
        # an installed Nexus runs from compiled bytecode: let the warm-up round write it
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PATH"] = bin_dir + ":" + env.get("PATH", "")
        root = Path(tmp) / "project"
        tasks.build_project(root, args.tasks, env)
        nexus = harness.nexus()

        def call(*argv: str) -> str:
            done = subprocess.run([nexus, *argv], cwd=root, env=env, capture_output=True, text=True)
            return done.stdout.strip()

        call("hooks", "install", "--client", "claude")
        task = call("task", "create", "Hook benchmark", "--gate", "false")
        call("task", "claim", task)
        call("task", "verify", task)  # a failing run: the Stop hook blocks, with its tail
        settings = json.loads((root / ".claude" / "settings.json").read_text())
        commands = {e: g[0]["hooks"][0]["command"] for e, g in settings["hooks"].items()}
        inputs = payloads(root, task)
        cases = {
            "python -c pass": ([sys.executable, "-c", "pass"], ""),
            "nexus --version": ([nexus, "--version"], ""),
        }
        for event, command in commands.items():
            cases[f"hook {event}"] = (["sh", "-c", command], json.dumps(inputs[event]))
        samples: dict[str, list[float]] = {name: [] for name in cases}
        load_before = os.getloadavg()
        for counted in [False] + [True] * args.runs:  # one uncounted round warms the caches
            for name, (cmd, stdin) in cases.items():
                seconds = run_once(cmd, stdin, env, root)
                if counted:
                    samples[name].append(seconds)
        load_after = os.getloadavg()
    floor = harness.median(samples["nexus --version"])
    harness.print_table(
        samples,
        ("command", 24),
        [
            harness.Column("median s", harness.median, 9, digits=3),
            harness.Column("min s", min, 7, digits=3),
            harness.Column("p90 s", harness.p90, 7, digits=3),
            harness.Column("x --version", lambda v: harness.median(v) / floor, 11, digits=2),
        ],
    )
    print(
        f"\n{os.cpu_count()} CPUs; load average (1 min) {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after"
    )
    print()
    ok = True
    for name, values in samples.items():
        if not name.startswith("hook "):
            continue
        value = harness.median(values)
        verdict = value <= TARGET_S
        ok &= verdict
        harness.summarise(args.summary, f"{name} ({args.tasks:,} tasks)", value, TARGET_S, "s")
        print(f"{'PASS' if verdict else 'FAIL'}  {name} <= {TARGET_S} s ({value:.3f})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
