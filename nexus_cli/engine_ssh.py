"""An ``ssh://`` Docker engine, reached through one OpenSSH forward per Nexus process.

For ``DOCKER_HOST=ssh://[user@]host[:port][/socket]`` (or a Docker context naming one), Nexus
starts the user's own ``ssh`` once::

    ssh -nNT -o ExitOnForwardFailure=yes -o StreamLocalBindUnlink=yes -o BatchMode=yes \\
        -o ConnectTimeout=10 -o ServerAliveInterval=30 \\
        -L /tmp/nexus-docker-XXXX/docker.sock:/var/run/docker.sock [-p PORT] [-l USER] -- HOST

and the Docker SDK talks HTTP to that local socket (``unix://…``), each of its connections one
channel of the same SSH connection. The socket lies in a fresh folder only this user may enter
(0700). ``ssh`` does the work, so the user's keys, agent and ``~/.ssh/config`` (its ``Port``,
``ProxyJump``, ``IdentityFile``…) apply as they do for ``ssh HOST``; ``BatchMode`` makes a login
that would need a password fail at once instead of waiting for a prompt nobody sees.

Why a forwarded socket rather than the Docker CLI's way (``ssh HOST docker system dial-stdio``
for every connection, docker/cli ``cli/connhelper/connhelper.go``): one SSH handshake per process
instead of one per connection (the SDK's pool and the batch's threads open several), and nothing
is needed on the remote host but ``sshd`` and the engine (no ``docker`` CLI there). It needs
``sshd`` to allow forwarding to a socket (``AllowStreamLocalForwarding``, on by default) and the
remote user to be allowed on the engine's socket (the ``docker`` group), as ``dial-stdio`` does.
The Docker SDK's own ``ssh://`` support is not used: it imports paramiko, about 0.2 s at every
start of a command that touches Docker, even when it runs the ``ssh`` binary.

The remote socket is ``/var/run/docker.sock`` unless the URL has a path, as with the Docker CLI
(docker/cli ``cli/connhelper/connhelper.go``, read 2026-12-06):
``ssh://me@box/run/user/1000/docker.sock`` for a rootless engine.

Lifetime: :func:`socket_url` starts the forward on first use and reuses it (the MCP server's
threads share one); a forward whose ``ssh`` has ended (the network dropped) is started again on the
next use. The ``ssh`` runs in its own process group (a Ctrl-C at the terminal reaches Nexus, which
ends it in order) and is ended, reaped and its folder removed when Nexus exits (:func:`close_all`,
registered with :mod:`atexit`; the CLI turns SIGTERM into a normal exit). A Nexus that could not
(SIGKILL, SIGHUP of a closed terminal) leaves its ``ssh`` running; the next forward this user
starts ends it (:func:`_end_orphans`: the folder's ``pids`` file names the Nexus that owned it and
its ``ssh``, which is ended only while its command line still names that folder's socket).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from nexus_cli import deadlines, fs, proc
from nexus_cli.errors import DockerUnavailableError

DEFAULT_REMOTE_SOCKET = "/var/run/docker.sock"
START_TIMEOUT_S = 20.0  # ConnectTimeout plus the login; a failing ssh usually exits much earlier
CONNECT_TIMEOUT_S = 10
POLL_S = 0.05
LOG_TAIL_LINES = 3
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes on Linux (104 on macOS)
PREFIX = "nexus-docker-"
PIDS_FILE = "pids"  # "NEXUS_PID SSH_PID": whose forward this folder is


@dataclass(frozen=True, slots=True)
class Target:
    """An ``ssh://`` endpoint taken apart: the ``ssh`` arguments naming the host, and the socket."""

    host: str  # the endpoint as given
    ssh_args: tuple[str, ...]  # [-p PORT] [-l USER] -- HOST
    remote_socket: str


def parse(host: str) -> Target:
    """Take an ``ssh://`` endpoint apart, refusing what ``ssh -L`` cannot be given (as the Docker
    CLI does: no password, query or fragment) with :class:`DockerUnavailableError`."""
    if any(ch.isspace() or not ch.isprintable() for ch in host):  # urlsplit drops tabs, newlines
        raise _bad(host, "spaces and control characters are not allowed")
    try:
        parts = urlsplit(host)
        port = parts.port
    except ValueError as exc:
        raise _bad(host, str(exc)) from None
    if parts.scheme.lower() != "ssh":
        raise _bad(host, "not an ssh:// URL")
    if not parts.hostname:
        raise _bad(host, "no host name")
    if parts.password is not None:
        raise _bad(host, "a password in the URL is not supported (use a key or the ssh agent)")
    if parts.query or parts.fragment:
        raise _bad(host, "query parameters and fragments are not allowed")
    remote = parts.path if parts.path.strip("/") else DEFAULT_REMOTE_SOCKET
    if ":" in remote:  # ssh -L LOCAL:REMOTE
        raise _bad(host, "the socket path may not hold ':'")
    args: list[str] = []
    if port:
        args += ["-p", str(port)]
    if parts.username:
        args += ["-l", parts.username]
    return Target(host, (*args, "--", parts.hostname), remote)


def _bad(host: str, why: str) -> DockerUnavailableError:
    return DockerUnavailableError(
        f"the Docker endpoint {host} is not a usable ssh:// URL: {why}",
        hint="use ssh://[user@]host[:port][/path/to/docker.sock]",
    )


@dataclass(slots=True)
class _Forward:
    target: Target
    folder: Path
    child: proc.Child

    @property
    def socket(self) -> Path:
        return self.folder / "docker.sock"

    @property
    def log(self) -> Path:
        return self.folder / "ssh.log"

    def running(self) -> bool:
        return self.child.poll() is None

    def end(self) -> None:
        """End the ssh (its group), reap it and remove its folder."""
        proc.end_child(self.child, grace_s=1.0)
        shutil.rmtree(self.folder, ignore_errors=True)


_lock = threading.Lock()
_forwards: dict[str, _Forward] = {}
_registered = False


def socket_url(host: str) -> str:
    """``unix://…`` of a local socket forwarded to the engine of the ``ssh://`` endpoint ``host``,
    starting the forward if this process has none running; :class:`DockerUnavailableError` with
    ssh's own words when it cannot be started."""
    global _registered
    target = parse(host)
    with _lock:
        forward = _forwards.get(host)
        if forward is not None and forward.running():
            return f"unix://{forward.socket}"
        if forward is not None:  # its ssh ended (the connection dropped): start it again
            del _forwards[host]
            forward.end()
        if not _registered:
            atexit.register(close_all)
            _registered = True
            _end_orphans()
        forward = _start(target)
        _forwards[host] = forward
        return f"unix://{forward.socket}"


def running_pid(host: str) -> int | None:
    """The pid of this process's running forward to ``host``, if any (``doctor``, tests)."""
    with _lock:
        forward = _forwards.get(host)
        return forward.child.pid if forward is not None and forward.running() else None


def unanswered(host: str, source: str) -> DockerUnavailableError:
    """The error for a forward that ssh opened but the engine did not answer through: no engine
    at that socket on the host, or the login may not use it (ssh's own words, when it logged any)."""
    target = parse(host)
    with _lock:
        forward = _forwards.get(host)
    said = _tail(forward.log) if forward is not None else ""
    return DockerUnavailableError(
        f"Docker engine unavailable at {host} ({source}): ssh logged in, but no engine answered "
        f"at {target.remote_socket} there" + (f" (ssh: {said})" if said else ""),
        hint=(
            "check that the engine runs on that host and that the login may use its socket "
            f"(the docker group): `ssh {' '.join(target.ssh_args)} docker info`"
        ),
    )


def close_all() -> None:
    """End every forward of this process (at exit; also safe to call before)."""
    with _lock:
        forwards = list(_forwards.values())
        _forwards.clear()
    for forward in forwards:
        forward.end()


def _start(target: Target) -> _Forward:
    if shutil.which("ssh") is None:
        raise DockerUnavailableError(
            f"the Docker engine at {target.host} is reached with ssh, which is not installed "
            "(not found on PATH)",
            hint="install the OpenSSH client (e.g. apt install openssh-client)",
        )
    folder = Path(tempfile.mkdtemp(prefix=PREFIX))  # 0700
    if len(str(folder)) + len("/docker.sock") > _SOCKET_PATH_MAX:  # a long TMPDIR
        shutil.rmtree(folder, ignore_errors=True)
        folder = Path(tempfile.mkdtemp(prefix=PREFIX, dir="/tmp"))
    local = folder / "docker.sock"
    argv = [
        "ssh",
        "-nNT",
        *("-o", "ExitOnForwardFailure=yes"),
        *("-o", "StreamLocalBindUnlink=yes"),
        *("-o", "BatchMode=yes"),
        *("-o", f"ConnectTimeout={CONNECT_TIMEOUT_S}"),
        *("-o", "ServerAliveInterval=30"),
        *("-L", f"{local}:{target.remote_socket}"),
        *target.ssh_args,
    ]
    try:
        fd = os.open(folder / "ssh.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            child = proc.spawn_child(argv, cwd=folder, env=dict(os.environ), log_fd=fd)
        finally:
            os.close(fd)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    forward = _Forward(target, folder, child)
    try:
        fs.atomic_write(
            folder / PIDS_FILE, f"{os.getpid()} {child.pid}\n", fsync=False, root=folder
        )
        _wait_ready(forward)
    except BaseException:
        forward.end()
        raise
    return forward


def _wait_ready(forward: _Forward) -> None:
    """Return once the local socket accepts a connection; raise when ssh ends or time is up."""
    left = deadlines.time_left()  # the operation's overall deadline, if it has one, comes first
    wait_s = START_TIMEOUT_S if left is None else min(left, START_TIMEOUT_S)
    until = time.monotonic() + wait_s
    while True:
        if not forward.running():
            raise _failed(forward, f"ssh exited ({forward.child.returncode})")
        if _answers(forward.socket):
            return
        if time.monotonic() >= until:
            raise _failed(forward, f"ssh did not open the socket in {wait_s:.3g}s")
        deadlines.check_cancelled()
        time.sleep(POLL_S)


def _answers(path: Path) -> bool:
    if not path.exists():
        return False
    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(1.0)
        sock.connect(str(path))
        return True
    return False


def _failed(forward: _Forward, what: str) -> DockerUnavailableError:
    said = _tail(forward.log)
    target = forward.target
    return DockerUnavailableError(
        f"cannot reach the Docker engine at {target.host} over ssh: {said or what}",
        hint=(
            f"check that `ssh {' '.join(target.ssh_args)} true` works without a prompt "
            "(Nexus runs your ssh with BatchMode=yes: a key or the ssh agent), or change DOCKER_HOST"
        ),
    )


def _tail(log: Path) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    lines = [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.startswith("Warning: Permanently added")  # not a problem
    ]
    return "; ".join(lines[-LOG_TAIL_LINES:])


def _end_orphans() -> None:
    """End the forwards that Nexus processes of this user left when they died unable to end them,
    and remove their folders; a folder whose Nexus still runs (or that says nothing) is left."""
    for root in {Path(tempfile.gettempdir()), Path("/tmp")}:
        try:
            folders = list(root.glob(f"{PREFIX}*"))
        except OSError:
            continue
        for folder in folders:
            with contextlib.suppress(OSError, ValueError):
                info = folder.lstat()
                if not folder.is_dir() or folder.is_symlink() or info.st_uid != os.getuid():
                    continue
                owner, ssh_pid = (int(n) for n in (folder / PIDS_FILE).read_text().split())
                if owner == os.getpid() or _exists(owner):
                    continue
                if _is_forward_of(ssh_pid, folder):
                    proc.kill_group(ssh_pid, grace_s=1.0)
                shutil.rmtree(folder, ignore_errors=True)


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_forward_of(pid: int, folder: Path) -> bool:
    """Whether ``pid`` is still the ssh that forwards ``folder``'s socket (not a reused pid)."""
    argv = command_line(pid)
    if not argv:
        return False
    return f"{folder / 'docker.sock'}:" in " ".join(argv) and argv[0].endswith("ssh")


def command_line(pid: int) -> list[str]:
    """The arguments process ``pid`` was started with ([] when it is gone or cannot be read):
    from ``/proc`` where the system has one (Linux), else from ``ps`` (macOS and the BSDs)."""
    return _proc_arguments(pid) if Path("/proc/self/cmdline").exists() else _ps_arguments(pid)


def _proc_arguments(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            raw = fh.read()
    except OSError:
        return []
    return [a.decode("utf-8", "replace") for a in raw.split(b"\0")[:-1]]


def _ps_arguments(pid: int) -> list[str]:
    """``ps`` joins the arguments with spaces: enough to find a socket path and the program."""
    listed = proc.run(["ps", "-o", "command=", "-p", str(pid)], timeout=5.0)
    return listed.stdout.split() if listed.returncode == 0 else []
