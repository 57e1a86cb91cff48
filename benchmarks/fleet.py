"""Fleet start-up: N workspaces with two services each, started at once, against the same by hand.

For N = 1, 4, 8 (interleaved, --runs times after one warm-up round), wall time until all N are up:
  * nexus      N `nexus workspace create fN-i -t duo` processes started together (the template of
               benchmarks/workspace.py: a network, a volume, two containers, a published port,
               a worktree each), as `nexus fleet run --agents N` needs them
  * by hand    N shells started together, each running `git worktree add -b` + `docker network
               create` + `docker volume create` + two `docker run -d` (what `docker compose up -d`
               would do; there is no compose plugin on the machines this runs on)
Targets: nexus <= 1.0x by hand at each N; nexus at N = 8 within 3x of nexus at N = 1.

    python benchmarks/fleet.py [--runs 2] [--sizes 1,4,8]
"""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import harness
import workspace as bench


def _all_at_once(jobs: list[list[list[str]]], repo: Path, env: dict[str, str]) -> float:
    """Wall milliseconds until every job (a list of commands run in order) has finished."""
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        for future in [pool.submit(bench._timed, job, repo, env) for job in jobs]:
            future.result()
    return (time.perf_counter() - start) * 1000


def _round(repo: Path, env: dict[str, str], n: int, tag: str) -> dict[str, float]:
    nexus = harness.nexus()
    names = [f"f{tag}-{i}" for i in range(n)]
    made = [[[nexus, "workspace", "create", name, "-t", "duo"]] for name in names]
    by_hand = [bench._raw_commands(repo, f"h{tag}-{i}", bench._free_port()) for i in range(n)]
    result = {"nexus": _all_at_once(made, repo, env), "hand": _all_at_once(by_hand, repo, env)}
    for name in names:
        bench._run([nexus, "workspace", "delete", name, "--force"], repo, env)
    bench._cleanup_raw(repo, env)
    return result


def main() -> int:
    parser = harness.parser(__doc__, runs=2)
    parser.add_argument("--sizes", default="1,4,8")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    bench._ensure_image()
    samples: dict[str, list[float]] = {f"{k} N={n}": [] for n in sizes for k in ("nexus", "hand")}
    with tempfile.TemporaryDirectory() as tmp:
        env = harness.nexus_env(Path(tmp) / "home", recording_on=True)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        repo = bench._setup_repo(Path(tmp), env)
        try:
            for run in range(-1, args.runs):  # run -1 warms caches and is not counted
                for n in sizes:
                    got = _round(repo, env, n, f"{run + 1}n{n}")
                    if run >= 0:
                        samples[f"nexus N={n}"].append(got["nexus"])
                        samples[f"hand N={n}"].append(got["hand"])
        finally:
            bench._cleanup_raw(repo, env)
    bench._report(samples, {k: k for k in samples}, "  (wall time until all N are up)")
    ok = True
    for n in sizes:
        ratio = harness.median(samples[f"nexus N={n}"]) / harness.median(samples[f"hand N={n}"])
        ok &= ratio <= 1.0
        print(f"N={n}: nexus / by hand = {ratio:.2f}x (target <= 1.0x)")
        harness.summarise(args.summary, f"fleet start N={n} vs by hand", ratio, 1.0)
    if 1 in sizes and max(sizes) > 1:
        top = max(sizes)
        scale = harness.median(samples[f"nexus N={top}"]) / harness.median(samples["nexus N=1"])
        ok &= scale <= 3.0
        print(f"nexus N={top} / N=1 = {scale:.2f}x (target <= 3x)")
        harness.summarise(args.summary, f"fleet start N={top} vs N=1", scale, 3.0)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
