"""What `gpu impact --action` refuses to signal, with real processes.

No test here ever lets a real signal reach PID 1 or an ancestor of the test run: the PID-1 case runs
inside its own PID namespace (``unshare``), the ancestor cases inside a throw-away shell, so a
broken guard kills only the sandbox it was given.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import psutil
import pytest

from nexus_cli.gpu import guards
from tests.conftest import REPO_ROOT, nexus_exe, run_process
from tests.gpu.conftest import wait_until

NOBODY = 65534


def _sandbox(script: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run a shell script in its own session, with nexus available as ``$NEXUS``."""
    env = {**os.environ, "NEXUS": " ".join(nexus_exe()), "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        ["sh", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        start_new_session=True,
    )


def _can_unshare_pid() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "--pid", "--fork", "--mount-proc", "true"], capture_output=True, timeout=10
    )
    return probe.returncode == 0


@pytest.fixture
def as_nobody() -> Iterator[subprocess.Popen[bytes]]:
    """A real ``sleep`` running under uid 65534 (skips where the uid cannot be switched)."""
    if os.getuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to start a process as another user")
    proc = subprocess.Popen(
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "sleep", "60"]
    )
    wait_until(lambda: psutil.Process(proc.pid).uids().real == NOBODY)
    yield proc
    proc.kill()
    proc.wait(timeout=10)


def test_refusal_reasons_for_init_self_and_ancestors() -> None:
    assert "init" in (guards.refusal(1, 0) or "")
    assert "this nexus process" in (guards.refusal(os.getpid(), 0) or "")
    assert "ancestor" in (guards.refusal(os.getppid(), 0) or "")
    assert os.getppid() in guards.own_lineage()


def test_kernel_threads_are_recognised() -> None:
    if not guards.is_kernel_thread(2):
        pytest.skip("no kernel thread visible as PID 2 here (a container)")
    assert "kernel thread" in (guards.refusal(2, 0) or "")
    assert not guards.is_kernel_thread(os.getpid())


def test_pid_1_with_a_tree_is_refused_before_any_signal() -> None:
    """The old behaviour: `gpu impact 1 --action kill --yes` as root killed every process."""
    if os.getuid() != 0 or not _can_unshare_pid():
        pytest.skip("needs root and `unshare --pid` to give the test its own PID 1")
    script = textwrap.dedent(
        """
        sleep 30 & a=$!
        sh -c 'sleep 30' & b=$!
        $NEXUS gpu impact 1 --action kill --yes; echo "exit=$?"
        kill -0 $a && kill -0 $b && echo "tree alive"
        kill $a $b
        """
    )
    out = subprocess.run(
        ["unshare", "--pid", "--fork", "--mount-proc", "sh", "-c", script],
        env={**os.environ, "NEXUS": " ".join(nexus_exe()), "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "exit=1" in out.stdout and "tree alive" in out.stdout, out
    assert out.stderr.strip().splitlines() == [
        "error: refused to signal PID 1: it is init (its tree is every process on the system);"
        " nothing was sent"
    ]


def test_an_ancestor_of_nexus_is_refused() -> None:
    """The old behaviour: targeting the shell that runs nexus killed nexus with it."""
    out = _sandbox('$NEXUS gpu impact $$ --action kill --yes; echo "exit=$?"')
    assert "exit=1" in out.stdout, out
    assert "ancestor of this nexus process" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_nexus_never_signals_itself() -> None:
    code = textwrap.dedent(
        """
        import os
        from nexus_cli.gpu import actions, guards
        try:
            actions.perform(os.getpid(), "suspend", 0.0)
        except guards.RefusedError as exc:
            print(exc.message)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO_ROOT
    )
    assert "it is this nexus process; nothing was sent" in out.stdout, out


def test_kernel_thread_is_refused_by_the_command() -> None:
    if not guards.is_kernel_thread(2):
        pytest.skip("no kernel thread visible as PID 2 here (a container)")
    out = run_process("gpu", "impact", "2", "--action", "kill", "--yes")
    assert out.returncode == 1
    assert (
        out.stderr.strip()
        == "error: refused to signal PID 2: it is a kernel thread; nothing was sent"
    )


def test_another_users_process_needs_force_as_root(as_nobody: subprocess.Popen[bytes]) -> None:
    pid = str(as_nobody.pid)
    out = run_process("gpu", "impact", pid, "--action", "kill", "--yes")
    assert out.returncode == 1 and as_nobody.poll() is None
    assert out.stderr.strip().splitlines() == [
        f"error: refused to signal PID {pid}: it belongs to another user (uid {NOBODY});"
        " as root, pass --force-other-user to act on it; nothing was sent"
    ]
    forced = run_process("gpu", "impact", pid, "--action", "kill", "--yes", "--force-other-user")
    assert forced.returncode == 0, forced.stderr
    assert as_nobody.wait(timeout=10) == -9


def test_another_users_child_is_left_alone(tmp_path: os.PathLike[str]) -> None:
    if os.getuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to start a process as another user")
    parent = subprocess.Popen(
        ["sh", "-c", f"setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups sleep 60 & wait"],
        start_new_session=True,
    )
    wait_until(lambda: any(c.uids().real == NOBODY for c in psutil.Process(parent.pid).children()))
    (child,) = psutil.Process(parent.pid).children()
    try:
        out = run_process("gpu", "impact", str(parent.pid), "--action", "kill", "--yes", "--json")
        assert out.returncode == 0, out.stderr
        result = __import__("json").loads(out.stdout)["action_result"]
        assert result["pids"] == [parent.pid]
        assert f"left alone PID {child.pid}: it belongs to another user" in result["skipped"][0]
        assert parent.wait(timeout=10) == -9 and child.is_running()
    finally:
        child.kill()


def test_force_other_user_is_only_for_root() -> None:
    if os.getuid() == 0:
        with pytest.raises(guards.RefusedError):
            guards.check(1, 0, force_other_user=True)
    from nexus_cli.errors import UsageError

    with pytest.raises(UsageError, match="only for root"):
        guards.check(os.getpid(), 1000, force_other_user=True)
