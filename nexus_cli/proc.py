"""Starting processes: the one module of Nexus over :mod:`subprocess`.

Every process Nexus starts (git, gates, the loop's agent, crontab, docker, the background sync)
goes through here, with the same rules:

- stdin is /dev/null unless ``input`` is given; only stdin, stdout and stderr are inherited
  (``close_fds``); the signals Python ignores (SIGPIPE, SIGXFSZ) are back at their defaults in
  the child (``restore_signals``);
- output is captured as UTF-8 text, undecodable bytes replaced, with universal newlines;
- ``timeout`` (seconds) and ``deadline`` (a :func:`time.monotonic` time) bound a run; when the
  earlier of the two passes, the process is stopped and :attr:`Completed.timed_out` is true;
  an operation's overall deadline (:func:`~nexus_cli.deadlines.deadline_after`, e.g.
  ``workspace create``'s) bounds every run inside it the same way (:mod:`nexus_cli.deadlines`);
- with ``new_session`` the process leads its own session and process group, and nothing of that
  group outlives :func:`run`: when the leader exits, times out, or the caller is interrupted
  (Ctrl-C; SIGTERM, raised as :class:`~nexus_cli.errors.Terminated`) the whole group gets
  SIGTERM, then SIGKILL after ``grace_s``. Without it only the process itself is killed
  (SIGKILL, as :func:`subprocess.run` does), since its group is the caller's own;
- a run inside :func:`~nexus_cli.deadlines.cancellable` also ends (its group first) as soon as the caller cancels
  the operation, and raises :class:`~nexus_cli.errors.Cancelled` (``nexus mcp`` does so when
  a client cancels a call or goes away);
- the process is always reaped;
- a program that is not installed is a :class:`~nexus_cli.errors.CommandNotFoundError`, any other
  failure to start a :class:`~nexus_cli.errors.CannotStartError`: one clear line, no traceback.

Start-up: importing this module imports :mod:`subprocess` (a few milliseconds); modules on the
``nexus --version`` path import it only when they start a process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Any

from nexus_cli import deadlines
from nexus_cli.errors import CannotStartError, CommandNotFoundError, Terminated

GRACE_S = 3.0  # between SIGTERM and SIGKILL for a process group
MARKED_LOOKS = 3  # end_marked: looks for marked processes, each after the groups found were ended
DRAIN_S = 1.0  # how long output is still read after the process (group) is gone
_CHUNK = 1 << 16

Child = subprocess.Popen[bytes]  # a child started by :func:`spawn_child`


@dataclass(frozen=True)
class Completed:
    """A finished process: exit status (negative: the signal that ended it) and its output."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool = False


def run(
    argv: Sequence[str],
    *,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    input: str | bytes | None = None,
    timeout: float | None = None,
    deadline: float | None = None,
    new_session: bool = False,
    merge_stderr: bool = False,
    output_file: IO[bytes] | None = None,
    grace_s: float = GRACE_S,
) -> Completed:
    """Run ``argv`` to its end (or its time limit) and return what it did.

    ``merge_stderr`` puts stderr into :attr:`Completed.stdout` in the order written;
    ``output_file`` (a binary file) receives stdout and stderr instead of capturing them.
    """
    args = list(argv)
    deadlines.check_cancelled()
    until = _earliest(timeout, deadline)
    data = input.encode("utf-8") if isinstance(input, str) else input
    if output_file is not None:
        stdout: IO[bytes] | int = output_file
        stderr: int = subprocess.STDOUT
    else:
        stdout, stderr = subprocess.PIPE, subprocess.STDOUT if merge_stderr else subprocess.PIPE
    # SIGTERM raises from before the start, and everything after the start is inside the
    # try: an interrupt that comes as soon as the child runs still ends (and reaps) it.
    with sigterm_raises() if new_session else contextlib.nullcontext():
        held = _HeldSignals()
        try:
            proc = _start(
                args,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL if data is None else subprocess.PIPE,
                stdout=stdout,
                stderr=stderr,
                new_session=new_session,
            )
        except BaseException:
            held.restore()
            raise
        try:
            held.release()  # a Ctrl-C or SIGTERM held during the start raises here, guarded
            out, err = _Reader(proc.stdout), _Reader(proc.stderr)
            if data is not None:
                threading.Thread(target=_feed, args=(proc.stdin, data), daemon=True).start()
            if new_session:  # its group is ended afterwards: its own exit is what counts
                finished = _wait(proc, until)
            else:  # its output ends as it exits: waking then is sooner than Popen.wait's poll
                finished = _drain((out, err), until, cancellable=True) and _wait(proc, until)
        finally:
            _stop(proc, group=new_session, grace_s=grace_s)
    # Whatever was written before the end; a process that left the group may hold the pipes.
    _drain((out, err), time.monotonic() + DRAIN_S)
    deadlines.check_cancelled()
    return Completed(args, proc.returncode, out.text(), err.text(), timed_out=not finished)


def run_attached(
    argv: Sequence[str],
    *,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    """Run ``argv`` on the caller's own stdin, stdout and stderr (an interactive shell); its exit
    status. Interrupted, the process is killed and reaped before the interrupt goes on."""
    proc = _start(list(argv), cwd=cwd, env=env, stdin=None, stdout=None, stderr=None)
    try:
        return proc.wait()
    finally:
        _stop(proc, group=False, grace_s=0)


def spawn_detached(
    argv: Sequence[str],
    *,
    cwd: Path | str,
    env: Mapping[str, str],
    log_fd: int,
) -> int:
    """Start ``argv`` in a new session that outlives Nexus, output appended to ``log_fd``; its pid.

    Nothing waits for it: when Nexus exits first, init adopts and reaps it.
    """
    return spawn_child(argv, cwd=cwd, env=env, log_fd=log_fd).pid


def spawn_child(
    argv: Sequence[str],
    *,
    cwd: Path | str,
    env: Mapping[str, str],
    log_fd: int,
) -> Child:
    """Start ``argv`` in a new session (its own process group), output appended to ``log_fd``.

    The caller polls it (``poll()``), and ends it with :func:`end_child` (or :func:`kill_group`
    on its pid, then ``wait()``): one agent of ``nexus fleet``, whose whole group must end when the
    fleet stops; the ssh forward to a remote Docker engine (:mod:`nexus_cli.engine_ssh`).
    """
    return _start(
        list(argv),
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log_fd,
        stderr=log_fd,
        new_session=True,
    )


def end_child(child: Child, grace_s: float = GRACE_S) -> None:
    """End the group of a :func:`spawn_child` child (SIGTERM, SIGKILL after ``grace_s``), and reap it."""
    _stop(child, group=True, grace_s=grace_s)


# --- process groups ------------------------------------------------------------------------------


def kill_group(pgid: int, grace_s: float = GRACE_S) -> None:
    """SIGTERM the group ``pgid``; SIGKILL whatever still runs after ``grace_s`` seconds."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    end = time.monotonic() + grace_s
    while time.monotonic() < end:
        if not _has_live_member(pgid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def group_alive(pgid: int) -> bool:
    """Whether any process of group ``pgid`` still exists (zombies included)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def end_marked(marker: str, grace_s: float = GRACE_S) -> int:
    """End the process groups of this user's processes whose environment holds ``marker``
    (``NAME=value``): what a run that was killed outright (SIGKILL, so none of its own clean-up
    ran) left running. This process's own group is never ended. Returns how many marked
    processes were found (zombies and other users' processes are not read).

    A process in the middle of an ``exec`` shows an empty environment for a moment, so one look
    can miss it: the processes are looked at again after each round of ending groups, until a
    look finds no marked process it had not seen (MARKED_LOOKS at most)."""
    wanted = marker.encode("utf-8", "surrogateescape")
    seen: set[int] = set()
    for _ in range(MARKED_LOOKS):
        groups: set[int] = set()
        for pid in _pids():
            if pid == os.getpid() or pid in seen:
                continue
            try:
                with open(f"/proc/{pid}/environ", "rb") as fh:
                    if wanted not in fh.read().split(b"\0"):
                        continue
                groups.add(os.getpgid(pid))
            except (OSError, ProcessLookupError):
                continue
            seen.add(pid)
        if not groups:
            break
        for pgid in groups - {os.getpgrp()}:
            kill_group(pgid, grace_s)
    return len(seen)


def _pids() -> list[int]:
    try:
        return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]
    except OSError:
        return []


def _has_live_member(pgid: int) -> bool:
    """A non-zombie member of ``pgid`` exists (zombies are dead; their parent reaps them)."""
    if not group_alive(pgid):
        return False
    if not os.path.isdir("/proc"):
        return True
    for pid in _pids():
        try:
            with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


class _HeldSignals:
    """Ctrl-C and SIGTERM that arrive while a child is being started are held until it has
    started: raised inside ``subprocess.Popen``, they would leave a running child that nothing
    ends. Only handlers that act (the CLI's, Python's KeyboardInterrupt) are held; in another
    thread nothing is (signals are handled in the main thread)."""

    def __init__(self) -> None:
        self.pending: list[int] = []
        self.previous: dict[int, Any] = {}
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGINT, signal.SIGTERM):
            handler = signal.getsignal(signum)
            if callable(handler):
                self.previous[signum] = handler
                signal.signal(signum, self._hold)

    def _hold(self, signum: int, frame: FrameType | None) -> None:
        self.pending.append(signum)

    def restore(self) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        self.previous = {}

    def release(self) -> None:
        """Restore the handlers, then run the first one whose signal came meanwhile."""
        handlers = dict(self.previous)
        self.restore()
        for signum in self.pending[:1]:
            handlers[signum](signum, None)


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """While the block runs, SIGTERM raises :class:`Terminated` unless someone else handles it.

    The CLI root already does so; this covers Nexus used as a library, so that a group is never
    left behind because SIGTERM ended Python before the clean-up ran.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous is not signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# --- the parts of a run --------------------------------------------------------------------------


def _start(
    argv: list[str],
    *,
    cwd: Path | str | None,
    env: Mapping[str, str] | None,
    stdin: int | None,
    stdout: IO[bytes] | int | None,
    stderr: int | None,
    new_session: bool = False,
) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            start_new_session=new_session,
            close_fds=True,
            restore_signals=True,
        )
    except OSError as exc:
        raise _start_error(argv, cwd, exc) from None


def _start_error(argv: list[str], cwd: Path | str | None, exc: OSError) -> CannotStartError:
    name = os.path.basename(argv[0]) if argv else "?"
    if cwd is not None and exc.filename is not None and str(exc.filename) == os.fspath(cwd):
        return CannotStartError(f"cannot start {name} in {cwd}: {exc.strerror}")
    if isinstance(exc, FileNotFoundError):
        where = "" if os.sep in argv[0] else " (not found on PATH)"
        return CommandNotFoundError(
            f"{argv[0]} is not installed{where}", hint=f"install {name} and try again"
        )
    return CannotStartError(f"cannot start {argv[0]}: {exc.strerror or exc}")


def _earliest(timeout: float | None, deadline: float | None) -> float | None:
    """The monotonic time at which the run must end, if any (the operation's deadline too)."""
    ends = [t for t in (deadline, deadlines.current_deadline()) if t is not None]
    if timeout is not None:
        ends.append(time.monotonic() + timeout)
    return min(ends) if ends else None


def _wait(proc: subprocess.Popen[bytes], until: float | None) -> bool:
    """Whether ``proc`` exited before ``until`` (False as well when the operation is cancelled)."""
    event = deadlines.current_cancellation()
    while True:
        left = deadlines.seconds_until(until)
        step = (
            left
            if event is None
            else deadlines.POLL_S
            if left is None
            else min(left, deadlines.POLL_S)
        )
        try:
            proc.wait(step)
            return True
        except subprocess.TimeoutExpired:
            pass
        if event is not None and event.is_set():
            return False
        if until is not None and time.monotonic() >= until:
            return False


def _drain(
    readers: tuple[_Reader, _Reader], until: float | None, *, cancellable: bool = False
) -> bool:
    """Whether both outputs reached their end before ``until`` (with ``cancellable``, False as
    well once the operation is cancelled, looked at every deadlines.POLL_S).

    A pipe's end wakes the wait at once, where ``Popen.wait`` with a time limit polls (up to
    50 ms apart): a process's output ends when it exits, unless it left a child holding it."""
    event = deadlines.current_cancellation() if cancellable else None
    for reader in readers:
        while reader.reading():
            left = deadlines.seconds_until(until)
            if left == 0.0:
                break
            reader.join(
                left
                if event is None
                else deadlines.POLL_S
                if left is None
                else min(left, deadlines.POLL_S)
            )
            if event is not None and event.is_set():
                return False
    return not any(reader.reading() for reader in readers)


def _stop(proc: subprocess.Popen[bytes], *, group: bool, grace_s: float) -> None:
    """End what is left of ``proc`` (its whole group with ``group``), then reap it."""
    try:
        if group:
            kill_group(proc.pid, grace_s)
        elif proc.poll() is None:
            proc.kill()
    except BaseException:  # a second interrupt while the group had its grace period: no more
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if group:
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
        proc.wait()
        raise
    proc.wait()


def _feed(stream: IO[bytes], data: bytes) -> None:
    try:
        stream.write(data)
    except OSError:
        pass  # the process does not read its stdin (BrokenPipeError): fine
    finally:
        with contextlib.suppress(OSError):
            stream.close()


def _text(data: bytes) -> str:
    """Bytes as text with universal newlines, as ``subprocess`` gives them with ``text=True``."""
    return data.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")


class _Reader:
    """Reads one pipe to its end in a thread, chunk by chunk (so a partial read is kept)."""

    def __init__(self, stream: IO[bytes] | None) -> None:
        self.chunks: list[bytes] = []
        self._thread: threading.Thread | None = None
        if stream is not None:
            self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
            self._thread.start()

    def _read(self, stream: IO[bytes]) -> None:
        with stream, contextlib.suppress(OSError):
            while data := os.read(stream.fileno(), _CHUNK):
                self.chunks.append(data)

    def join(self, timeout: float | None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def reading(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def text(self) -> str:
        return _text(b"".join(list(self.chunks)))
