"""Mutation testing of Nexus's critical modules with mutmut (``make mutation``).

Each group below names the modules to mutate and the tests that pin their behaviour. For every
group the script copies the working tree (tracked and untracked, not ignored files) into a
temporary folder, writes a ``[tool.mutmut]`` section for that group, runs ``mutmut run`` there and
reads the counts back from ``mutmut export-cicd-stats``. The score is killed / (killed + survived +
timeouts + no tests); the surviving mutants are listed so that each one can be explained in
docs/mutation.md or pinned by a new test.

    python scripts/mutation.py                 # every group
    python scripts/mutation.py merge ports     # some groups
    python scripts/mutation.py --list          # the groups

Exit code: 0 when every group reaches ``--target`` (default 90) or each of its survivors is listed
in docs/mutation.md, else 1.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXPLAINED = ROOT / "docs" / "mutation.md"

GROUPS: dict[str, tuple[list[str], list[str]]] = {
    "validators": (["nexus_cli/validate.py"], ["tests/test_validate.py"]),
    "fs": (["nexus_cli/fs.py"], ["tests/test_fs.py"]),
    "schema": (
        ["nexus_cli/jsonio.py", "nexus_cli/tasks/record.py"],
        ["tests/test_jsonio.py", "tests/tasks/test_record.py", "tests/tasks/test_jsonl.py"],
    ),
    "safe-path": (["nexus_cli/safe_path.py"], ["tests/test_safe_path.py", "tests/test_fs.py"]),
    "terminal": (["nexus_cli/terminal.py"], ["tests/test_terminal.py"]),
    "merge": (
        ["nexus_cli/tasks/merge.py"],
        ["tests/tasks/test_merge.py", "tests/tasks/test_merge_properties.py"],
    ),
    "ports": (
        ["nexus_cli/workspaces/ports.py"],
        [
            "tests/workspaces/test_ports.py",
            "tests/workspaces/test_ports_properties.py",
            "tests/workspaces/test_ports_table.py",
        ],
    ),
    "privacy": (
        ["nexus_cli/telemetry/journal/privacy.py"],
        ["tests/telemetry/journal/test_privacy.py"],
    ),
    "persona-safety": (
        ["nexus_cli/personas/safety.py"],
        ["tests/personas/test_safety.py", "tests/personas/test_trust.py"],
    ),
    "gates": (
        ["nexus_cli/tasks/gates.py", "nexus_cli/proc.py"],
        [
            "tests/tasks/test_gates.py",
            "tests/tasks/test_gate_groups.py",
            "tests/test_proc.py",
            "tests/tasks/test_gates_docker.py",
            "tests/tasks/test_trust.py",
        ],
    ),
}


def _tree_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout
    return [name for name in out.decode().split("\0") if name and (ROOT / name).is_file()]


def _copy_tree(dest: Path) -> None:
    for name in _tree_files():
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target, follow_symlinks=False)


def _config(modules: list[str], tests: list[str]) -> str:
    def toml_list(values: list[str]) -> str:
        return "[" + ", ".join(json.dumps(v) for v in values) + "]"

    return (
        "\n[tool.mutmut]\n"
        'source_paths = ["nexus_cli"]\n'
        f"only_mutate = {toml_list(modules)}\n"
        f"pytest_add_cli_args_test_selection = {toml_list(tests)}\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-x"]\n'
        'also_copy = ["templates", "personas"]\n'
    )


def run_group(name: str, jobs: int) -> dict[str, object]:
    modules, tests = GROUPS[name]
    tests = [t for t in tests if (ROOT / t).exists()]
    mutmut = Path(sys.executable).with_name("mutmut")
    with tempfile.TemporaryDirectory(prefix=f"nexus-mutation-{name}-") as tmp:
        work = Path(tmp)
        _copy_tree(work)
        with (work / "pyproject.toml").open("a", encoding="utf-8") as fh:
            fh.write(_config(modules, tests))
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        started = time.monotonic()
        run = subprocess.run(
            [str(mutmut), "run", "--max-children", str(jobs)],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
        )
        if run.returncode != 0:
            tail = (run.stdout + run.stderr)[-2000:]
            raise SystemExit(f"mutmut failed for {name}:\n{tail}")
        subprocess.run([str(mutmut), "export-cicd-stats"], cwd=work, env=env, capture_output=True)
        stats = json.loads((work / "mutants" / "mutmut-cicd-stats.json").read_text())
        listing = subprocess.run(
            [str(mutmut), "results"], cwd=work, env=env, capture_output=True, text=True
        ).stdout
        survivors = sorted(
            line.split(":")[0].strip() for line in listing.splitlines() if ": " in line
        )
        return {
            "group": name,
            "modules": modules,
            "killed": stats["killed"],
            "survived": stats["survived"],
            "timeout": stats["timeout"],
            "no_tests": stats["no_tests"],
            "seconds": round(time.monotonic() - started, 1),
            "survivors": survivors,
        }


def score(result: dict[str, object]) -> float:
    killed = int(result["killed"])  # type: ignore[call-overload]
    # A timeout counts as detected: the mutant made the tests hang, so they noticed it.
    detected = killed + int(result["timeout"])  # type: ignore[call-overload]
    total = detected + int(result["survived"]) + int(result["no_tests"])  # type: ignore[call-overload]
    return 100.0 * detected / total if total else 100.0


def explained_survivors() -> set[str]:
    if not EXPLAINED.exists():
        return set()
    return set(re.findall(r"`(nexus_cli\.[\w.]+__mutmut_\d+)`", EXPLAINED.read_text()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("groups", nargs="*", help="groups to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the groups and exit")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--target", type=float, default=90.0)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    if args.list:
        for name, (modules, tests) in GROUPS.items():
            print(f"{name:15} {', '.join(modules)}  <- {', '.join(tests)}")
        return 0
    unknown = [g for g in args.groups if g not in GROUPS]
    if unknown:
        parser.error(f"unknown group(s) {', '.join(unknown)}; see --list")
    explained = explained_survivors()
    results = []
    ok = True
    for name in args.groups or list(GROUPS):
        result = run_group(name, args.jobs)
        result["score"] = round(score(result), 1)
        unexplained = [s for s in result["survivors"] if s not in explained]  # type: ignore[attr-defined]
        result["unexplained"] = unexplained
        if result["score"] < args.target and unexplained:  # type: ignore[operator]
            ok = False
        results.append(result)
        if not args.json:
            print(
                f"{name:15} {result['score']:5.1f}%  killed {result['killed']}, "
                f"survived {result['survived']}, timeout {result['timeout']}, "
                f"no tests {result['no_tests']}  ({result['seconds']} s)",
                flush=True,
            )
            for survivor in unexplained:
                print(f"    survived, not explained in docs/mutation.md: {survivor}")
    if args.json:
        print(json.dumps(results, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
