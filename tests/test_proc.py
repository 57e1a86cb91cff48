"""nexus_cli.proc: the one way Nexus starts processes, with real processes.

Output on both pipes, stdin, exit codes, decoding; time limits that end the whole process group
(grandchildren too), and a run under one that ends when its process does (not at a poll); signals at their defaults and no inherited descriptors in the child; an
interrupt (Ctrl-C, SIGTERM) that kills and reaps; clear errors for what cannot start.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nexus_cli import deadlines, proc
from nexus_cli.errors import Cancelled, CannotStartError, CommandNotFoundError, Terminated
from tests.processes import alive, running_members, until

REPO = Path(__file__).resolve().parent.parent


def _sh(script: str, **kwargs: object) -> proc.Completed:
    return proc.run(["sh", "-c", script], **kwargs)  # type: ignore[arg-type]


def _pid_in(path: Path, timeout: float = 30) -> int:
    """The whole number written to ``path`` (waits until it is there)."""
    until(lambda: path.is_file() and path.read_text().strip().isdigit(), timeout)
    return int(path.read_text())


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def test_only_proc_imports_subprocess() -> None:
    """One way to start processes: nothing else in nexus_cli imports subprocess or spawns."""
    offenders = []
    for path in sorted((REPO / "nexus_cli").rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if "subprocess" in names and path.name != "proc.py":
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
        if "posix_spawn" in source or "os.fork" in source:
            offenders.append(f"{path.relative_to(REPO)}: posix_spawn/fork")
    assert offenders == []


# --- output, stdin, exit codes and text ---------------------------------------------------------


def test_large_output_on_both_streams_does_not_block() -> None:
    done = _sh("yes err | head -c 300000 >&2; yes out | head -c 300000")
    assert done.returncode == 0 and not done.timed_out
    assert len(done.stdout) == 300000 and len(done.stderr) == 300000
    assert done.stdout.startswith("out\nout\n") and done.stderr.startswith("err\nerr\n")


def test_stdin_is_empty_and_the_exit_code_is_kept() -> None:
    done = _sh("cat; readlink /proc/$$/fd/0 >&2; exit 3")
    assert (done.returncode, done.stdout, done.stderr) == (3, "", "/dev/null\n")


def test_input_is_fed_and_a_process_that_does_not_read_it_is_fine() -> None:
    assert _sh("cat", input="héllo\n").stdout == "héllo\n"
    assert _sh("exit 0", input=b"x" * 1_000_000).returncode == 0


def test_text_is_decoded_with_replacement_and_universal_newlines() -> None:
    assert _sh("printf 'a\\r\\nb\\rc\\377'").stdout == "a\nb\nc\ufffd"


def test_stderr_merged_in_order_or_sent_to_a_file(tmp_path: Path) -> None:
    done = _sh("echo one; echo two >&2; echo three", merge_stderr=True)
    assert (done.stdout, done.stderr) == ("one\ntwo\nthree\n", "")
    log = tmp_path / "log"
    with log.open("wb") as fh:
        done = _sh("echo out; echo err >&2", output_file=fh)
    assert (done.stdout, done.stderr) == ("", "")
    assert log.read_text() == "out\nerr\n"


def test_cwd_and_env_are_the_given_ones(tmp_path: Path) -> None:
    done = _sh("pwd; echo $ONLY", cwd=tmp_path, env={"ONLY": "this", "PATH": os.environ["PATH"]})
    assert done.stdout == f"{tmp_path.resolve()}\nthis\n"


# --- what the child inherits --------------------------------------------------------------------


def _ignored_signals(status: str) -> int:
    line = next(line for line in status.splitlines() if line.startswith("SigIgn:"))
    return int(line.split()[1], 16)


def test_signals_python_ignores_are_at_their_defaults_in_the_child() -> None:
    assert signal.getsignal(signal.SIGPIPE) is signal.SIG_IGN  # Python ignores it in this process
    ignored = _ignored_signals(proc.run(["cat", "/proc/self/status"]).stdout)
    for sig in (signal.SIGPIPE, signal.SIGXFSZ):
        assert not ignored & (1 << (sig - 1)), f"{sig.name} is ignored in the child"


def test_sigpipe_ends_a_writer_whose_reader_is_gone() -> None:
    """With SIGPIPE at its default, `yes` ends when `head` is done (no endless EPIPE loop)."""
    done = _sh("yes | head -c 10 >/dev/null; echo ok", timeout=30)
    assert (done.stdout, done.timed_out) == ("ok\n", False)


def test_descriptors_are_not_inherited() -> None:
    read_end, write_end = os.pipe()
    os.set_inheritable(write_end, True)  # even a descriptor marked inheritable stays behind
    try:
        done = _sh(f"test -e /proc/$$/fd/{write_end} && echo leaked || echo closed")
    finally:
        os.close(read_end)
        os.close(write_end)
    assert done.stdout == "closed\n"


def test_a_new_session_leads_its_own_group() -> None:
    done = _sh("cut -d' ' -f5,6 /proc/$$/stat; echo $$", new_session=True)
    group_and_session, pid = done.stdout.splitlines()
    assert group_and_session.split() == [pid, pid]


# --- time limits --------------------------------------------------------------------------------


def _timed_out_when_ready(script: str, ready: Path, **kwargs: object) -> proc.Completed:
    """Run ``script`` with a short time limit that ends it only after it wrote ``ready``: on a
    slow machine the limit is raised (1, 4, 16, 64 s) until the script got that far in time."""
    for limit in (1, 4, 16, 64):
        ready.unlink(missing_ok=True)
        done = _sh(script, timeout=limit, **kwargs)
        assert done.timed_out
        if ready.is_file() and ready.read_text().strip():
            return done
    raise AssertionError(f"{ready.name} was never written before the time limit")


def test_a_timeout_kills_the_process_and_keeps_its_output(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    done = _timed_out_when_ready(f"echo before; echo 1 > {ready}; exec sleep 300", ready)
    assert done.timed_out and done.returncode == -signal.SIGKILL
    assert done.stdout == "before\n"


def test_the_earlier_of_timeout_and_deadline_ends_the_run() -> None:
    start = time.monotonic()
    assert proc.run(["sleep", "300"], deadline=start + 0.3, timeout=240).timed_out
    assert proc.run(["sleep", "300"], deadline=start + 240, timeout=0.3).timed_out
    assert time.monotonic() - start < 200  # neither waited for the other limit (or for sleep)
    assert not proc.run(["true"], deadline=time.monotonic() + 30, timeout=30).timed_out


def test_a_timeout_ends_the_whole_group_grandchildren_too(tmp_path: Path) -> None:
    script = "echo $$ > leader; sh -c 'sleep 300 & echo $! > grandchild; wait' & wait"
    _timed_out_when_ready(script, tmp_path / "grandchild", cwd=tmp_path, new_session=True)
    pgid, grandchild = int((tmp_path / "leader").read_text()), _pid_in(tmp_path / "grandchild")
    try:
        assert until(lambda: not alive(grandchild)), "the grandchild survived the timeout"
        assert until(lambda: running_members(pgid) == [])
    finally:
        _kill_group(pgid)


def test_children_left_behind_by_a_finished_session_are_ended(tmp_path: Path) -> None:
    start = time.monotonic()
    done = _sh("sleep 300 & echo $! > child; echo done", cwd=tmp_path, new_session=True)
    assert (done.returncode, done.stdout, done.timed_out) == (0, "done\n", False)
    assert time.monotonic() - start < 10  # not held open by the child's copy of stdout
    child = _pid_in(tmp_path / "child")
    assert until(lambda: not alive(child))


def test_a_child_ignoring_sigterm_is_killed_after_the_grace_period(tmp_path: Path) -> None:
    script = "sh -c 'trap \"\" TERM; echo $$ > child; sleep 300' & sleep 300"
    _timed_out_when_ready(script, tmp_path / "child", cwd=tmp_path, new_session=True, grace_s=0.5)
    child = _pid_in(tmp_path / "child")
    assert until(lambda: not alive(child))


def test_a_process_that_left_the_group_does_not_hold_the_run(tmp_path: Path) -> None:
    start = time.monotonic()
    done = _sh(
        f"setsid sleep 300 & echo $! > {tmp_path}/left; sleep 0.2; echo hi", new_session=True
    )
    try:
        assert time.monotonic() - start < 120  # about one second of waiting for the pipe, not 300
        assert (done.returncode, done.stdout) == (0, "hi\n")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(_pid_in(tmp_path / "left"), signal.SIGKILL)


# --- interrupts: Ctrl-C and SIGTERM -------------------------------------------------------------


@contextlib.contextmanager
def _sigint_when(path: Path) -> Iterator[None]:
    """SIGINT to this process once ``path`` holds a pid (as Ctrl-C would), raising here."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)

    def fire() -> None:
        _pid_in(path)
        os.kill(os.getpid(), signal.SIGINT)

    sender = threading.Thread(target=fire, daemon=True)
    sender.start()
    try:
        yield
    finally:
        sender.join(30)
        signal.signal(signal.SIGINT, previous)


def _reaped(pid: int) -> bool:
    """``pid`` (a child of this process) is no longer waiting to be reaped."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


@pytest.mark.parametrize("new_session", [False, True], ids=["plain", "new-session"])
def test_ctrl_c_kills_and_reaps(tmp_path: Path, new_session: bool) -> None:
    script = "sleep 300 & echo $! > grandchild; echo $$ > leader; wait"
    with _sigint_when(tmp_path / "leader"), pytest.raises(KeyboardInterrupt):
        _sh(script, cwd=tmp_path, new_session=new_session)
    leader, grandchild = _pid_in(tmp_path / "leader"), _pid_in(tmp_path / "grandchild")
    try:
        assert not alive(leader) and _reaped(leader)
        if new_session:  # the whole group; a plain child shares our group, so only it is killed
            assert until(lambda: not alive(grandchild)), "the grandchild survived Ctrl-C"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(grandchild, signal.SIGKILL)


def test_sigterm_ends_the_group_and_raises_terminated(tmp_path: Path) -> None:
    """Nexus used as a library (SIGTERM at its default): the group is ended, then Terminated."""
    program = (
        "import sys\n"
        "from nexus_cli import proc\n"
        "try:\n"
        "    proc.run(['sh', '-c', 'sleep 300 & echo $! > grandchild; echo $$ > leader; wait'],"
        " new_session=True)\n"
        "except KeyboardInterrupt as exc:\n"
        "    print(type(exc).__name__)\n"
        "    sys.exit(7)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    runner = subprocess.Popen(
        [sys.executable, "-c", program], cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True
    )
    leader = _pid_in(tmp_path / "leader")
    grandchild = _pid_in(tmp_path / "grandchild")
    try:
        runner.send_signal(signal.SIGTERM)
        out, _ = runner.communicate(timeout=300)
        assert (runner.returncode, out) == (7, "Terminated\n")
        assert until(lambda: not alive(grandchild) and not alive(leader))
    finally:
        runner.kill()
        runner.wait()
        _kill_group(leader)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupt_during_the_start_still_ends_the_child(
    monkeypatch: pytest.MonkeyPatch, signum: int
) -> None:
    """Regression: an interrupt raised inside ``subprocess.Popen`` (after the fork, before it
    returned) left the started child running, with nothing to end it."""
    real_popen = subprocess.Popen
    started: list[subprocess.Popen[bytes]] = []

    def popen_then_interrupt(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        child = real_popen(*args, **kwargs)
        started.append(child)
        os.kill(os.getpid(), signum)  # its handler runs here, still inside the start
        time.sleep(0.2)
        return child

    monkeypatch.setattr(proc.subprocess, "Popen", popen_then_interrupt)
    expected = KeyboardInterrupt if signum == signal.SIGINT else Terminated
    with pytest.raises(expected):
        proc.run(["sleep", "300"], new_session=True)
    (child,) = started
    assert child.returncode is not None  # ended and reaped
    assert not alive(child.pid)


# --- what cannot start --------------------------------------------------------------------------


@pytest.mark.parametrize("new_session", [True, False])
def test_a_cancelled_operation_ends_its_run_and_raises(tmp_path: Path, new_session: bool) -> None:
    """Another thread cancels (``nexus mcp`` on notifications/cancelled): the run ends, its group
    with it, and :class:`Cancelled` carries the reason; a later run does not even start."""
    pidfile = tmp_path / "pid"
    cancellation = deadlines.Cancellation()
    box: dict[str, Any] = {}
    script = "sleep 300 & sleep 300" if new_session else "exec sleep 300"  # its own group, or not

    def work() -> None:
        with deadlines.cancellable(cancellation):
            try:
                _sh(f"echo $$ > {pidfile}; {script}", new_session=new_session)
            except Cancelled as exc:
                box["reason"] = exc.reason
            try:
                _sh(f"echo again > {tmp_path / 'again'}")
            except Cancelled:
                box["second"] = "refused"

    worker = threading.Thread(target=work)
    worker.start()
    pid = _pid_in(pidfile)
    cancellation.cancel("terminated")
    worker.join(30)
    assert not worker.is_alive()
    assert box == {"reason": "terminated", "second": "refused"}
    assert not (tmp_path / "again").exists()
    if new_session:
        assert until(lambda: not running_members(pid)), "the group outlived the cancellation"
    else:
        assert until(lambda: not alive(pid))


def test_a_run_with_a_time_limit_ends_when_its_process_does() -> None:
    """The end of its output wakes the run. ``Popen.wait`` with a time limit polls (1, 2, 4 …
    50 ms apart), which made a run end 0 to 50 ms after its process: a median of about 15 ms."""
    late = []
    for _ in range(9):
        done = proc.run(["sh", "-c", "sleep 0.15; exec date +%s%N"], timeout=30)
        late.append((time.time_ns() - int(done.stdout)) / 1e6)
    assert statistics.median(late) < 6, late


def test_a_process_that_closed_its_output_is_still_waited_for() -> None:
    started = time.monotonic()
    done = _sh("exec >&- 2>&-; sleep 0.3; exit 4", timeout=30)
    assert (done.returncode, done.timed_out) == (4, False)
    assert time.monotonic() - started >= 0.3


def test_a_run_that_nobody_cancels_ends_as_usual() -> None:
    cancellation = deadlines.Cancellation()
    with deadlines.cancellable(cancellation):
        assert _sh("exit 7").returncode == 7
    assert _sh("exit 8", timeout=30).returncode == 8


def test_an_operations_deadline_bounds_every_run_inside_it() -> None:
    assert deadlines.time_left() is None
    with deadlines.deadline_after(60):
        # the earlier one wins, nested either way
        with deadlines.deadline_after(0.5) as inner, deadlines.deadline_after(60) as nested:
            assert nested == inner
            started = time.monotonic()
            done = _sh("sleep 30", timeout=30)
            assert done.timed_out and time.monotonic() - started < 10
            left = deadlines.time_left()
            assert left is not None and left == 0
        left = deadlines.time_left()
        assert left is not None and 50 < left <= 60
    assert deadlines.time_left() is None
    assert not _sh("true").timed_out


def test_clean_up_runs_under_a_deadline_of_its_own_and_no_cancellation() -> None:
    """What undoes an operation past its deadline (or cancelled) still runs, within its own time."""
    cancelled = deadlines.Cancellation()
    cancelled.cancel()
    with deadlines.deadline_after(0), deadlines.cancellable(cancelled):
        assert deadlines.time_left() == 0  # the operation's own time is up, and it was cancelled
        with pytest.raises(Cancelled):
            _sh("true")
        with deadlines.clean_up_within(60):
            left = deadlines.time_left()
            assert left is not None and 50 < left <= 60
            deadlines.check_cancelled()  # not raised
            assert _sh("exit 3").returncode == 3
        assert deadlines.time_left() == 0
        with pytest.raises(Cancelled):
            deadlines.check_cancelled()


def test_a_missing_program_is_one_clear_error() -> None:
    with pytest.raises(CommandNotFoundError) as info:
        proc.run(["no-such-program-for-nexus", "--version"])
    assert info.value.message == "no-such-program-for-nexus is not installed (not found on PATH)"
    assert info.value.hint == "install no-such-program-for-nexus and try again"


def test_a_missing_folder_or_a_file_that_cannot_run(tmp_path: Path) -> None:
    with pytest.raises(CannotStartError, match=r"cannot start true in .*gone: No such file"):
        proc.run(["true"], cwd=tmp_path / "gone")
    plain = tmp_path / "plain.txt"
    plain.write_text("not a program")
    with pytest.raises(CannotStartError, match="Permission denied") as info:
        proc.run([str(plain)])
    assert not isinstance(info.value, CommandNotFoundError)


# --- process groups: kill_group, group_alive, live members --------------------------------------


def test_kill_group_gives_the_group_time_to_clean_up_then_returns(tmp_path: Path) -> None:
    marker = tmp_path / "cleaned"
    script = f"trap 'sleep 0.2; echo cleaned > {marker}; exit 0' TERM; echo ready; "
    child = subprocess.Popen(
        ["sh", "-c", script + "while :; do sleep 0.1; done"],
        stdout=subprocess.PIPE,
        start_new_session=True,
        text=True,
    )
    assert child.stdout is not None
    try:
        assert child.stdout.readline() == "ready\n"
        start = time.monotonic()
        proc.kill_group(child.pid)
        elapsed = time.monotonic() - start
        assert marker.read_text() == "cleaned\n"  # SIGTERM, then the grace period, not SIGKILL
        assert elapsed < 1.0  # returns once only the (zombie) shell is left
        assert child.wait(timeout=10) == 0
    finally:
        _kill_group(child.pid)
        child.stdout.close()


def test_end_child_ends_a_spawned_childs_whole_group_and_reaps_it(tmp_path: Path) -> None:
    log = tmp_path / "log"
    fd = os.open(log, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        child = proc.spawn_child(
            ["sh", "-c", "sleep 60 & echo $!; wait"], cwd=tmp_path, env={}, log_fd=fd
        )
    finally:
        os.close(fd)
    try:
        deadline = time.monotonic() + 10
        while not log.read_text().endswith("\n"):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        sleeper = int(log.read_text())
        proc.end_child(child, grace_s=1.0)
        assert child.returncode == -signal.SIGTERM  # reaped: the status is known
        with contextlib.suppress(FileNotFoundError):  # the backgrounded sleep ended too
            assert _stat_state(sleeper) == "Z"
    finally:
        _kill_group(child.pid)


def test_end_marked_ends_the_groups_of_marked_processes_only(tmp_path: Path) -> None:
    """What a run killed outright left running is found by the mark in its environment (also a
    grandchild that started a session of its own) and its groups are ended; a process without
    the mark, or with another value, runs on."""
    mark = f"NEXUS_TEST_MARK={os.getpid()}-{time.monotonic_ns()}"
    name, value = mark.split("=", 1)
    pids = tmp_path / "pids"
    script = f"sleep 60 & echo $! >> {pids}; setsid sleep 60 & echo $! >> {pids}; wait"
    marked = subprocess.Popen(
        ["sh", "-c", script], env={**os.environ, name: value}, start_new_session=True
    )
    other = subprocess.Popen(
        ["sleep", "60"], env={**os.environ, name: value + "0"}, start_new_session=True
    )
    try:
        assert until(lambda: pids.is_file() and len(pids.read_text().split()) == 2, 30)
        children = [int(pid) for pid in pids.read_text().split()]
        assert proc.end_marked(mark, grace_s=1.0) == 3  # the shell and its two sleeps, also
        # one caught in the middle of its exec (an empty environment for a moment): looked again
        assert marked.wait(timeout=30) == -signal.SIGTERM
        assert until(lambda: not any(alive(pid) for pid in children), 30)
        assert other.poll() is None
    finally:
        for child in (marked, other):
            _kill_group(child.pid)
            child.wait(timeout=30)


def _stat_state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0].decode()


def test_live_members_zombies_and_odd_process_names(tmp_path: Path) -> None:
    # A process name with a ")" and a byte that is not UTF-8, in its own group but not its own
    # session: /proc/PID/stat must be parsed from its last ")", leniently, by group not session.
    odd = tmp_path / "\udcffx) R 1 0"
    odd.symlink_to(shutil.which("sleep") or "/bin/sleep")
    # SIGHUP at its default (a caller under nohup ignores it): asking must not send it
    hup = functools.partial(signal.signal, signal.SIGHUP, signal.SIG_DFL)
    child = subprocess.Popen([str(odd), "30"], process_group=0, preexec_fn=hup)
    try:
        assert b"\xffx) R 1 0" in Path(f"/proc/{child.pid}/stat").read_bytes()
        assert proc.group_alive(child.pid) is True
        assert proc._has_live_member(child.pid) is True
        time.sleep(0.2)
        assert child.poll() is None  # asking does not signal the group
        child.kill()
        assert until(lambda: _stat_state(child.pid) == "Z", 10)
        assert proc.group_alive(child.pid) is True  # the zombie is still in the group
        assert proc._has_live_member(child.pid) is False
    finally:
        child.kill()
        child.wait()
    assert proc.group_alive(child.pid) is False
    assert proc._has_live_member(child.pid) is False


def test_a_group_of_another_user_counts_as_alive() -> None:
    sleeper = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        assert proc.group_alive(sleeper.pid) is True  # for its own user, the group is there
        child = os.fork()
        if child == 0:  # pragma: no cover - runs in the forked child
            code = 2
            try:
                if os.getuid() == 0:
                    os.setgid(65534)
                    os.setuid(65534)
                code = 0 if proc.group_alive(sleeper.pid) else 1
            finally:
                os._exit(code)
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        sleeper.kill()
        sleeper.wait()
