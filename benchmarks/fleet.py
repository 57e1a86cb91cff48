"""Fleet start-up: N workspaces with two services each, started at once, against the same by hand.

For N = 1, 4, 8 (interleaved, --runs times after one warm-up round; which side goes first
alternates), wall time until all N are up:
  * nexus      `nexus workspace create f-0 … f-(N-1) -t duo`: one process creating the N
               workspaces together (nexus_cli/workspaces/batch.py, what `nexus fleet run
               --agents N` does to start N agents), each with the template of
               benchmarks/workspace.py: a network, a volume, two containers, a published port,
               a worktree
  * by hand    N shells started together, each running `git worktree add -b` + `docker network
               create` + `docker volume create` + two `docker run -d` (what `docker compose up -d`
               would do; there is no compose plugin on the machines this runs on)
  * N procs    (reference, --processes) N separate `nexus workspace create fN-i -t duo`
               processes started together: how this benchmark measured nexus before the fleet
               created its workspaces in one process
  * floor      (reference, --floor) the engine's own time for the same Docker objects: this
               process, already connected (the Docker SDK imported, one client per workspace),
               makes each workspace's network, volume and two containers (`init`, the same
               mounts and published port; each container created, then started, as `docker run`
               does) in N threads at once; no process start, no git, no checks afterwards
Targets: nexus <= 1.0x by hand at each N; nexus at N = 8 within 3x of nexus at N = 1.
With --floor it also prints whether the two can hold together on this engine: nexus at N = 8
cannot take less than the floor at N = 8, so if that floor exceeds 3x by hand at N = 1, meeting
<= 1.0x at N = 1 makes N = 8 within 3x impossible.
Prints the load average before and after: on a shared machine, compare only figures of one run.

    python benchmarks/fleet.py [--runs 2] [--sizes 1,4,8] [--processes] [--floor]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import harness
import workspace as bench


def _job(cmds: list[list[str]], repo: Path, env: dict[str, str]) -> None:
    """Run the commands in order; a failing one ends the benchmark, showing what it said."""
    for cmd in cmds:
        done = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True)
        if done.returncode != 0 and cmd[:3] == ["git", "worktree", "add"]:
            done = _git_raced(cmd, done, repo, env)
        if done.returncode != 0:
            sys.exit(f"{' '.join(cmd[:4])}… failed ({done.returncode}):\n{done.stderr}")


def _git_raced(
    cmd: list[str], done: subprocess.CompletedProcess[str], repo: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """Concurrent `git worktree add`s can make git read an entry another one is writing
    ("failed to read .git/worktrees/X/commondir"); Nexus then tries once more, so by hand does
    too: `-b` may have made the branch already, so it is checked out instead."""
    branch, path = cmd[cmd.index("-b") + 1], cmd[-1]
    for _ in range(3):
        if "failed to read" not in done.stderr and "already exists" not in done.stderr:
            return done
        subprocess.run(["git", "worktree", "prune"], cwd=repo, capture_output=True)
        made = subprocess.run(
            ["git", "rev-parse", "--verify", "-q", f"refs/heads/{branch}"],
            cwd=repo, capture_output=True,
        ).returncode == 0  # fmt: skip
        again = ["git", "worktree", "add", "-q", path, branch] if made else cmd
        done = subprocess.run(again, cwd=repo, env=env, capture_output=True, text=True)
    return done


def _all_at_once(jobs: list[list[list[str]]], repo: Path, env: dict[str, str]) -> float:
    """Wall milliseconds until every job (a list of commands run in order) has finished."""
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        for future in [pool.submit(_job, job, repo, env) for job in jobs]:
            future.result()
    return (time.perf_counter() - start) * 1000


def _floor(repo: Path, n: int, tag: str) -> float:
    """Wall milliseconds for the engine alone to make N workspaces' objects at once (see the
    module's docstring); the objects carry the by-hand label, removed with by hand's."""
    import docker

    clients = [docker.from_env(timeout=120) for _ in range(n)]
    for client in clients:
        client.ping()

    def one(i: int) -> None:
        client, prefix = clients[i], f"raw-bench-{os.getpid()}-x{tag}-{i}"
        labels = dict([bench.BENCH_LABEL.split("=", 1)])
        workspace = {str(repo): {"bind": "/workspace", "mode": "rw"}}
        client.networks.create(prefix, labels=labels)
        client.volumes.create(f"{prefix}-data", labels=labels)
        common: dict[str, Any] = {"network": prefix, "init": True, "labels": labels}
        db = client.containers.create(
            bench.IMAGE, ["sleep", "3600"], name=f"{prefix}-db",
            volumes={**workspace, f"{prefix}-data": {"bind": "/data", "mode": "rw"}}, **common,
        )  # fmt: skip
        db.start()
        web = client.containers.create(
            bench.IMAGE, ["httpd", "-f", "-p", "8080", "-h", "/workspace"], name=f"{prefix}-web",
            ports={"8080/tcp": ("127.0.0.1", bench._free_port())}, volumes=workspace, **common,
        )  # fmt: skip
        web.start()

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=n) as pool:
        for future in [pool.submit(one, i) for i in range(n)]:
            future.result()
    took = (time.perf_counter() - start) * 1000
    for client in clients:
        client.close()
    return took


def _round(
    repo: Path,
    env: dict[str, str],
    n: int,
    tag: str,
    kinds: tuple[str, ...],
    hand_first: bool,
) -> dict[str, float]:
    """One timing of each side for N; each side's objects are removed before the next runs
    (the engine's default address pools hold about 30 networks, shared with everything else)."""
    nexus = harness.nexus()
    names = [f"f{tag}-{i}" for i in range(n)]
    solo = [f"p{tag}-{i}" for i in range(n)]
    hand = [bench._raw_commands(repo, f"h{tag}-{i}", bench._free_port()) for i in range(n)]
    cases: dict[str, tuple[list[list[list[str]]], list[str]]] = {
        "nexus": ([[[nexus, "workspace", "create", *names, "-t", "duo"]]], names),
        "hand": (hand, []),
    }
    if "procs" in kinds:
        cases["procs"] = ([[[nexus, "workspace", "create", m, "-t", "duo"]] for m in solo], solo)
    order = [*cases, *(["floor"] if "floor" in kinds else [])]
    if hand_first:
        order.reverse()
    result = {}
    for key in order:
        if key == "floor":
            result[key] = _floor(repo, n, tag)
            bench._cleanup_raw(repo, env)
            continue
        jobs, made = cases[key]
        result[key] = _all_at_once(jobs, repo, env)
        if made:
            deletes = [[[nexus, "workspace", "delete", m, "--force"]] for m in made]
            _all_at_once(deletes, repo, env)
        bench._cleanup_raw(repo, env)
    return result


def main() -> int:
    parser = harness.parser(__doc__, runs=2)
    parser.add_argument("--sizes", default="1,4,8")
    parser.add_argument(
        "--processes", action="store_true", help="also time N separate create processes"
    )
    parser.add_argument(
        "--floor", action="store_true", help="also time the engine alone making the same objects"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    kinds = ("nexus", "hand", *(("procs",) if args.processes else ()))
    kinds += ("floor",) if args.floor else ()
    bench._ensure_image()
    print(f"load average before: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    samples: dict[str, list[float]] = {f"{k} N={n}": [] for n in sizes for k in kinds}
    with tempfile.TemporaryDirectory() as tmp:
        env = harness.nexus_env(Path(tmp) / "home", recording_on=True)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        repo = bench._setup_repo(Path(tmp), env)
        try:
            for run in range(-1, args.runs):  # run -1 warms caches and is not counted
                for n in sizes:
                    hand_first = (run + n) % 2 == 1
                    got = _round(repo, env, n, f"{run + 1}n{n}", kinds, hand_first)
                    if run >= 0:
                        for kind, value in got.items():
                            samples[f"{kind} N={n}"].append(value)
        finally:
            bench._cleanup_raw(repo, env)
            pid = (repo / ".nexus" / "state" / "project-id").read_text().strip()
            bench._remove_labelled(f"dev.nexus.project={pid}", check=False)
    bench._report(samples, {k: k for k in samples}, "  (wall time until all N are up)")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
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
        if args.floor:
            _both_targets(samples, top)
    return 0 if ok else 1


def _both_targets(samples: dict[str, list[float]], top: int) -> None:
    """Whether nexus <= by hand at N = 1 and nexus N = top <= 3x nexus N = 1 can hold together:
    nexus at N = top takes at least the engine's floor at N = top."""
    floor = harness.median(samples[f"floor N={top}"])
    bound = 3 * harness.median(samples["hand N=1"])
    print(
        f"engine floor N={top} = {floor:.0f} ms; 3x by hand N=1 = {bound:.0f} ms: "
        + (
            "both targets cannot hold on this engine"
            if floor > bound
            else "both targets can hold together"
        )
        + f" (floor N={top} / floor N=1 = "
        f"{floor / harness.median(samples['floor N=1']):.2f}x)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
