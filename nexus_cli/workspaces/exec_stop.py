"""Ending a command that `workspace exec` (or the MCP tool ``workspace_exec``) started in a
container when its caller stops waiting: Ctrl-C, SIGTERM, a cancelled call, a closed pipe.

Without a terminal the engine cannot signal an exec, and closing its connection does not end it
(moby/moby#9098: ``docker exec`` without ``-t`` has the same gap), so ``psql < dump.sql``
interrupted halfway went on loading the dump. The engine reports the exec's process by its pid as
the engine's machine sees it. When that machine is this one, ``/proc`` names the process and its
descendants, and their pids inside the container (``NSpid``); the process must belong to the
container (its cgroup names the container's id), so a pid that means something else here (an
engine in a virtual machine) is never signalled. ``kill`` then runs in the container as root:
SIGTERM to them all, SIGKILL to what still runs after :data:`GRACE_S`. On a remote engine the
processes cannot be found from here; the caller is told the command may still run.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

GRACE_S = 2.0
_POLL_S = 0.05


def end(client: Any, container: Any, exec_id: str, grace_s: float = GRACE_S) -> str | None:
    """End the exec ``exec_id`` if it still runs: None once it is over, else the reason it may
    still run (one line for the user)."""
    running, pid = _state(client, exec_id)
    if not running:
        return None
    inner = _inner_pids(container.id, pid)
    if not inner:
        return (
            f"the command may still be running in {container.name}: its process is not on "
            "this machine (a remote engine, or one in a virtual machine), so it cannot be "
            "stopped from here"
        )
    for signal_name in ("TERM", "KILL"):
        if not _kill_inside(client, container, signal_name, inner):
            return (
                f"the command may still be running in {container.name} (pid {inner[0]} there): "
                "`kill` could not run in the container (the image may have none)"
            )
        deadline = time.monotonic() + grace_s
        while True:
            running, _ = _state(client, exec_id)
            if not running:
                return None
            if time.monotonic() >= deadline:
                break
            time.sleep(_POLL_S)
    return f"the command still runs in {container.name} (pid {inner[0]} there) after SIGKILL"


def exec_ids(client: Any, container: Any) -> set[str]:
    """The execs the engine lists for the container now."""
    try:
        return set(client.api.inspect_container(container.id).get("ExecIDs") or [])
    except Exception:  # the container is gone: it has none
        return set()


def end_started(client: Any, container: Any, before: set[str], argv: list[str]) -> str | None:
    """End the running execs of ``argv`` that the container did not have in ``before``: the one
    the docker CLI made for `exec` on a terminal (it reports no id) and left running when it was
    stopped. None once they are over, else the reason one may still run."""
    problems = []
    for exec_id in sorted(exec_ids(client, container) - before):
        try:
            found = client.api.exec_inspect(exec_id)
        except Exception:
            continue
        config = found.get("ProcessConfig") or {}
        if (
            not found.get("Running")
            or [config.get("entrypoint"), *config.get("arguments", [])] != argv
        ):
            continue
        problem = end(client, container, exec_id)
        if problem is not None:
            problems.append(problem)
    return problems[0] if problems else None


def _state(client: Any, exec_id: str) -> tuple[bool, int]:
    """(whether the exec runs, its pid on the engine's machine); an exec the engine no longer
    knows is over."""
    try:
        found = client.api.exec_inspect(exec_id)
    except Exception:  # the engine's NotFound, or it is gone: nothing left to end
        return False, 0
    pid = found.get("Pid")
    return bool(found.get("Running")), pid if type(pid) is int else 0


def _inner_pids(container_id: str, pid: int) -> list[int]:
    """The container's own pids of process ``pid`` (a pid on this machine) and its descendants;
    empty when ``pid`` is not a process of that container here."""
    if pid <= 0 or container_id not in _read(f"/proc/{pid}/cgroup"):
        return []
    import psutil  # a third-party import, only when an exec is ended

    try:
        top = psutil.Process(pid)
        pids = [pid, *(child.pid for child in top.children(recursive=True))]
    except psutil.Error:
        return []
    inner = [_nspid(p) for p in pids]
    return [p for p in inner if p is not None]


def _nspid(pid: int) -> int | None:
    """The pid of ``pid`` in its innermost pid namespace (the container's)."""
    for line in _read(f"/proc/{pid}/status").splitlines():
        if line.startswith("NSpid:"):
            fields = line.split()[1:]
            return int(fields[-1]) if fields and fields[-1].isdigit() else None
    return None


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _kill_inside(client: Any, container: Any, signal_name: str, pids: list[int]) -> bool:
    """``kill -SIGNAL PID...`` in the container, as root (the command may run as any user);
    whether it ran (an image without ``kill`` answers 126 or 127, like ``docker exec``)."""
    argv = ["kill", f"-{signal_name}", *map(str, pids)]
    try:
        kill = client.api.exec_create(container.id, argv, user="0")["Id"]
        client.api.exec_start(kill)
        code = client.api.exec_inspect(kill).get("ExitCode")
    except Exception:  # the container went meanwhile: the command went with it
        return True
    return code not in (126, 127)
