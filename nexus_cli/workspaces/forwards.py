"""Port forwards of workspaces on a remote engine: one ``ssh -N -L`` process per published port.

On a remote engine a service's port is published on the engine host's 127.0.0.1 (a port the
engine picks), and Nexus forwards the workspace's allocated local port to it:
``ssh -N -L 127.0.0.1:LOCAL:127.0.0.1:REMOTE HOST``, started in its own session through
:mod:`nexus_cli.proc` so that it outlives the command. Each forward is recorded in
``$NEXUS_HOME/forwards.json`` (pid, ports, endpoint); ``down``, ``delete`` and ``repair`` end
them, and a recorded forward whose process is gone (or is another program now) is *stale*:
:func:`check` finds it, :func:`ensure` replaces it.

A ``tcp://`` engine has no SSH to forward through: its ports stay on that host's 127.0.0.1 and
Nexus says so (:data:`TCP_NOTICE`).
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nexus_cli import engine, fs, jsonio, proc
from nexus_cli.errors import ConflictError, NexusError
from nexus_cli.paths import nexus_home
from nexus_cli.workspaces.jsonstate import load_json

FORWARDS_FILE = "forwards.json"
LOCK_FILE = "forwards.lock"
LOG_FILE = "forwards.log"
START_TIMEOUT_S = 20.0
POLL_S = 0.1
TCP_NOTICE = (
    "the engine is reached over tcp://, which Nexus cannot forward: ports are published on the "
    "engine host's 127.0.0.1 only (use an ssh:// DOCKER_HOST to get them on this machine)"
)


@dataclass(frozen=True, slots=True)
class Forward:
    project_id: str
    workspace: str
    service: str
    container_port: int
    local_port: int
    remote_port: int
    pid: int
    endpoint: str

    @property
    def spec(self) -> str:
        return f"127.0.0.1:{self.local_port}:127.0.0.1:{self.remote_port}"

    def alive(self) -> bool:
        """The recorded process still runs and is this forward's ssh (not a reused pid)."""
        try:
            with open(f"/proc/{self.pid}/cmdline", "rb") as fh:
                argv = fh.read().split(b"\0")
            with open(f"/proc/{self.pid}/stat", encoding="utf-8", errors="replace") as fh:
                stat = fh.read()
            state = stat.rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        if state == "Z":
            return False
        if argv == [b""]:  # in the middle of its exec: its command line is not there yet
            return "(ssh)" in stat
        return self.spec.encode() in argv and b"-N" in argv

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "alive": self.alive()}


def _home() -> Path:
    home = nexus_home()
    home.mkdir(parents=True, exist_ok=True)
    return home


def _parse(data: Any) -> list[Forward]:
    if not isinstance(data, list):
        raise TypeError("a list of forwards")
    found = []
    for item in data:
        forward = Forward(**item)
        ints = (forward.container_port, forward.local_port, forward.remote_port, forward.pid)
        if not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in ints):
            raise TypeError(f"forward of {forward.workspace!r}: ports and pid must be numbers")
        found.append(forward)
    return found


def load() -> list[Forward]:
    path = _home() / FORWARDS_FILE
    return load_json(
        path,
        _parse,
        missing=[],
        what=f"port forwards {path} are",
        hint=f"end the ssh processes it lists, then remove {path}",
        root=_home(),
    )


@contextlib.contextmanager
def _editing() -> Iterator[list[Forward]]:
    home = _home()
    with fs.locked(home / LOCK_FILE, root=home):
        forwards = load()
        try:
            yield forwards
        finally:  # also when a start failed: the forwards started until then stay recorded
            data = jsonio.dumps([asdict(f) for f in forwards], indent=2) + "\n"
            fs.atomic_write(home / FORWARDS_FILE, data, root=home)


def of_workspace(project_id: str, workspace: str) -> list[Forward]:
    return [f for f in load() if (f.project_id, f.workspace) == (project_id, workspace)]


def _answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


class LocalPortTakenError(ConflictError):
    """The local port of a forward was taken by another program after it was allocated."""

    def __init__(self, port: int) -> None:
        super().__init__(
            f"local port {port} was taken by another program before its forward started",
            hint="run the command again, or free the port",
            category="port_conflict",
        )
        self.port = port


def _check_free(port: int) -> None:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise LocalPortTakenError(port) from None


def _start(endpoint: engine.Endpoint, local: int, remote: int) -> int:
    """Start one ``ssh -N -L`` in its own session; its pid once the local port answers."""
    _check_free(local)
    spec = f"127.0.0.1:{local}:127.0.0.1:{remote}"
    argv = [
        "ssh",
        "-N",
        "-o",
        "ExitOnForwardFailure=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "ServerAliveInterval=30",
        "-L",
        spec,
        *endpoint.ssh_target(),
    ]
    home = _home()
    fd = os.open(home / LOG_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        pid = proc.spawn_detached(argv, cwd=home, env=dict(os.environ), log_fd=fd)
    finally:
        os.close(fd)
    until = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < until:
        if _exited(pid):  # our child: reaped here (ExitOnForwardFailure, a refused login)
            raise NexusError(
                f"ssh could not forward 127.0.0.1:{local} to port {remote} of {endpoint.host}",
                hint=f"see {home / LOG_FILE}; check that `ssh {' '.join(endpoint.ssh_target())}` works",
            )
        if _answers(local):
            return pid
        time.sleep(POLL_S)
    proc.kill_group(pid)
    raise NexusError(
        f"the forward of 127.0.0.1:{local} to {endpoint.host} did not answer in "
        f"{START_TIMEOUT_S:g}s",
        hint=f"see {home / LOG_FILE}",
    )


def _exited(pid: int) -> bool:
    """Whether our child ``pid`` has ended (and is reaped now)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done == pid


@dataclass(frozen=True, slots=True)
class Wanted:
    service: str
    container_port: int
    local_port: int
    remote_port: int


def local_ports(project_id: str, workspace: str) -> frozenset[int]:
    """The local ports the workspace's live forwards hold (its own, when ports are allocated)."""
    return frozenset(f.local_port for f in of_workspace(project_id, workspace) if f.alive())


def ensure(project_id: str, workspace: str, wanted: list[Wanted]) -> list[Forward]:
    """Exactly ``wanted`` forwards for the workspace: live matching ones kept, others ended,
    missing (or stale) ones started. Only ``ssh://`` engines forward."""
    endpoint = engine.current()
    result: list[Forward] = []
    with _editing() as forwards:
        ours = [f for f in forwards if (f.project_id, f.workspace) == (project_id, workspace)]
        forwards[:] = [f for f in forwards if f not in ours]
        live = {
            (f.service, f.container_port, f.local_port, f.remote_port): f
            for f in ours
            if f.endpoint == endpoint.host and f.alive()
        }
        keys = [(w.service, w.container_port, w.local_port, w.remote_port) for w in wanted]
        for key, old in live.items():
            if key not in keys:  # no longer wanted (another port now): ended
                proc.kill_group(old.pid)
        kept = [live[key] for key in keys if key in live]
        forwards.extend(kept)
        result.extend(kept)
        for key in keys:
            if key not in live:
                pid = _start(endpoint, key[2], key[3])
                forwards.append(Forward(project_id, workspace, *key, pid, endpoint.host))
                result.append(forwards[-1])
    return result


def stop(project_id: str, workspace: str) -> int:
    """End the workspace's forwards and forget them; how many were running."""
    ended = 0
    with _editing() as forwards:
        for forward in [
            f for f in forwards if (f.project_id, f.workspace) == (project_id, workspace)
        ]:
            if forward.alive():
                proc.kill_group(forward.pid)
                ended += 1
            forwards.remove(forward)
    return ended


def forget_stale() -> list[Forward]:
    """Drop the records of forwards whose process is gone; those records."""
    with _editing() as forwards:
        stale = [f for f in forwards if not f.alive()]
        forwards[:] = [f for f in forwards if f not in stale]
    return stale


def check() -> tuple[list[Forward], list[Forward]]:
    """(live, stale) recorded forwards of every project."""
    forwards = load()
    return [f for f in forwards if f.alive()], [f for f in forwards if not f.alive()]
