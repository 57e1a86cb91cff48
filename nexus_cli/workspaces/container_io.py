"""Running commands in, and reading logs from, a workspace's containers."""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, BinaryIO

from nexus_cli import deadlines, engine, proc
from nexus_cli.errors import NexusError, NotFoundError
from nexus_cli.workspaces import exec_stop
from nexus_cli.workspaces.handle import workdir_of
from nexus_cli.workspaces.lifecycle import template_for

if TYPE_CHECKING:
    from nexus_cli.workspaces.handle import Workspace

Writer = Callable[[bytes, bool], None]  # (chunk, is_stderr)
_CHUNK = 64 * 1024


def find_container(workspace: Workspace, service: str | None) -> tuple[Any, Any]:
    """(client, running container) of ``service`` (default: the template's default service)."""
    name = workspace.name
    record = workspace.record()
    template = template_for(workspace, record, names_only=True)
    if not template.services:
        raise NexusError(
            f"workspace {name!r} uses template {record.template!r}, which has no services",
            hint=f'run commands in the worktree directly: cd "$(nexus workspace path {name})"',
        )
    chosen = service or template.default_service or next(iter(template.services))
    if chosen not in template.services:
        raise NotFoundError(
            f"workspace {name!r} has no service {chosen!r}",
            hint=f"its services: {', '.join(template.services)}",
        )
    client = engine.connect()
    from docker.errors import NotFound

    try:
        container = client.containers.get(workspace.container_name(chosen))
    except NotFound:
        container = None
    if container is None or container.status != "running":
        raise NexusError(
            f"service {chosen!r} of {name!r} is not running",
            hint=f"run `nexus workspace up {name}`",
        )
    return client, container


def exec_command(
    client: Any,
    container: Any,
    command: list[str],
    write: Writer,
    warn: Callable[[str], None],
    stdin: BinaryIO | None = None,
) -> int:
    """Run ``command`` in the container's working directory for commands (:func:`workdir_of`:
    ``/workspace`` unless the service says otherwise), streaming output; return its exit code.

    With ``stdin``, its bytes are sent to the command as they are read and the command's input is
    closed at their end (so ``... exec db -- psql < dump.sql`` sees the whole file, then EOF).
    Stopped before the command ends (Ctrl-C, SIGTERM, a cancelled call, output that cannot be
    written), the command is ended in the container too (:mod:`exec_stop`), or ``warn`` says
    it may still run.
    """
    exec_id = client.api.exec_create(
        container.id,
        command,
        workdir=workdir_of(container),
        stdin=stdin is not None,
        stdout=True,
        stderr=True,
    )["Id"]
    try:
        with deadlines.when_cancelled(lambda: exec_stop.end(client, container, exec_id)):
            if stdin is None:
                for out, err in client.api.exec_start(exec_id, stream=True, demux=True):
                    if out:
                        write(out, False)
                    if err:
                        write(err, True)
            else:
                _exec_with_input(client, exec_id, stdin, write)
        deadlines.check_cancelled()  # a cancelled call (MCP) ended the command: say so, not its code
    except BaseException:  # Ctrl-C, SIGTERM, a cancelled call, our output closed: end it too
        _warn_if(exec_stop.end(client, container, exec_id), warn)
        raise
    return int(client.api.exec_inspect(exec_id).get("ExitCode") or 0)


def _exec_with_input(client: Any, exec_id: str, stdin: BinaryIO, write: Writer) -> None:
    """Feed ``stdin`` to a started exec from a thread while its output is read here: reading and
    writing at once, so a command that echoes (``cat``) never fills a pipe and stalls both."""
    attached = client.api.exec_start(exec_id, socket=True)
    sock = getattr(attached, "_sock", attached)
    failed: list[OSError] = []

    def feed() -> None:
        try:
            read = _reader(stdin)
            while chunk := read(_CHUNK):
                sock.sendall(chunk)
        except OSError as exc:  # the command ended before reading all of its input
            failed.append(exc)
        finally:
            _close_write(sock)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        copy_output(attached, write)
    finally:
        attached.close()
    # The feeder is not waited for: a command that ends without reading all of its input (``head``)
    # leaves it blocked on a read of ours, and this process's input is of no further use.


def copy_output(attached: Any, write: Writer) -> None:
    """Write an exec's output frames as they come, until the engine ends the stream.

    A command that ends without reading all of its input (``head``) leaves the engine holding
    input it never read, and the engine's end of the connection is then a reset rather than an
    end of file. On its local socket, what the engine sent before is read first (the reset is
    reported only once nothing is left), so the reset ends the output as an end of file would;
    the exit code is asked for afterwards."""
    from docker.utils.socket import STDERR, frames_iter

    with contextlib.suppress(ConnectionResetError):
        for stream, data in frames_iter(attached, tty=False):  # type: ignore[no-untyped-call]
            write(data, stream == STDERR)


def _reader(stdin: BinaryIO) -> Callable[[int], bytes]:
    """What the feeder reads with: whatever has arrived, up to the size given. A file's own
    descriptor, not its buffered reader: the feeder is left blocked on a read when the command
    ends first (``tail -f log | nexus workspace exec w -- grep -m1 x``), and a read of the buffered
    reader holds its lock, which Python then cannot take at exit (a fatal error, exit -6).
    Nothing was read from ``stdin`` before, so its buffer holds nothing that would be skipped."""
    try:
        fd = stdin.fileno()
    except (AttributeError, OSError, ValueError):  # not a file (a test's BytesIO)
        return getattr(stdin, "read1", stdin.read)
    return functools.partial(os.read, fd)


def _close_write(sock: Any) -> None:
    """End the command's input. Over an ``ssh://`` engine the Docker SDK's socket is the stdin and
    stdout of ``ssh … docker system dial-stdio``: closing that stdin is the half-close."""
    ssh = getattr(sock, "proc", None)
    with contextlib.suppress(OSError):
        if ssh is not None and getattr(ssh, "stdin", None) is not None:
            ssh.stdin.close()
        else:
            sock.shutdown(socket.SHUT_WR)


def shell(container: Any, interactive_tty: bool, warn: Callable[[str], None]) -> int:
    """An interactive shell through the docker CLI (which honours DOCKER_HOST and contexts)."""
    probe = "command -v bash >/dev/null 2>&1 && exec bash || exec sh"
    return exec_in_terminal(
        container,
        ["sh", "-c", probe],
        tty=interactive_tty,
        purpose="`nexus workspace shell`",
        warn=warn,
    )


def exec_in_terminal(
    container: Any, command: list[str], *, tty: bool, purpose: str, warn: Callable[[str], None]
) -> int:
    """Run ``command`` on this process's own terminal through ``docker exec -i [-t]``: the docker
    CLI puts the terminal in raw mode, forwards window-size changes and signals. When Nexus is
    stopped (SIGTERM, or SIGHUP when the terminal closes), the CLI it ends leaves the command
    running in the container: it is ended there too (:func:`exec_stop.end_started`), or
    ``warn`` says it may still run."""
    docker = shutil.which("docker")
    if docker is None:
        raise NexusError(
            f"{purpose} needs the docker command-line client",
            hint="install the docker CLI, or use `nexus workspace exec NAME -- sh -c '...'`",
        )
    flags = "-it" if tty else "-i"
    workdir = workdir_of(container)
    client = container.client
    before = exec_stop.exec_ids(client, container)
    try:
        return proc.run_attached([docker, "exec", flags, "-w", workdir, container.id, *command])
    except BaseException:  # SIGTERM: the CLI is ended, the command in the container is not
        _warn_if(exec_stop.end_started(client, container, before, command), warn)
        raise


def _warn_if(problem: str | None, warn: Callable[[str], None]) -> None:
    """Say why a stopped command may still run; an output that is gone too says nothing."""
    if problem is not None:
        with contextlib.suppress(Exception):
            warn(problem)


def has_docker_cli() -> bool:
    return shutil.which("docker") is not None


def stream_logs(
    containers: list[tuple[str, Any]],
    write: Callable[[str, str], None],
    *,
    follow: bool,
    tail: int | str,
) -> None:
    """Write each container's log lines as (service, line); with ``follow``, until interrupted."""
    if not follow or len(containers) == 1:
        for service, container in containers:
            _pump(service, container, write, follow=follow, tail=tail)
        return
    threads = [
        threading.Thread(
            target=_pump, args=(s, c, write), kwargs={"follow": True, "tail": tail}, daemon=True
        )
        for s, c in containers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(0.2)


def _pump(
    service: str,
    container: Any,
    write: Callable[[str, str], None],
    *,
    follow: bool,
    tail: int | str,
) -> None:
    pending = b""
    chunks = container.logs(stream=True, follow=follow, tail=tail)
    for chunk in chunks:
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            write(service, line.decode("utf-8", "replace"))
    if pending:
        write(service, pending.decode("utf-8", "replace"))
