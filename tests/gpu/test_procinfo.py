"""Process facts from psutil and /proc: namespaces, caught signals, environment, children."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from nexus_cli.errors import NotFoundError
from nexus_cli.gpu import procinfo
from tests.gpu.conftest import Trainer, wait_until


def test_caught_signals_reads_sigcgt(start_trainer: Callable[..., Trainer]) -> None:
    with_usr1 = start_trainer()
    without = start_trainer("--no-usr1")
    assert {signal.SIGUSR1, signal.SIGTERM} <= procinfo.caught_signals(with_usr1.pid)
    caught = procinfo.caught_signals(without.pid)
    assert signal.SIGTERM in caught and signal.SIGUSR1 not in caught


def test_unreadable_status_gives_no_signals() -> None:
    assert procinfo.caught_signals(2**22 + 99) == set()


def test_own_namespace_is_same() -> None:
    assert procinfo.pid_namespace(os.getpid()) == "same"
    assert procinfo.pid_namespace(2**22 + 99) == "unknown"


def test_process_in_another_pid_namespace_is_reported(tmp_path: Path) -> None:
    """A process started in a new PID namespace (as containers do) is seen as 'other'."""
    try:
        outer = subprocess.Popen(
            ["unshare", "--pid", "--fork", "sleep", "30"], stderr=subprocess.PIPE
        )
    except FileNotFoundError:
        pytest.skip("unshare is not installed")
    try:
        import psutil

        def inner_started() -> bool:
            return outer.poll() is not None or bool(psutil.Process(outer.pid).children())

        wait_until(inner_started)
        if outer.poll() is not None:
            pytest.skip(f"cannot create a PID namespace here: {outer.stderr.read()!r}")  # type: ignore[union-attr]
        (inner,) = psutil.Process(outer.pid).children()
        assert procinfo.pid_namespace(outer.pid) == "same"
        assert procinfo.pid_namespace(inner.pid) == "other"
        assert procinfo.facts(inner).namespace == "other"
    finally:
        outer.kill()
        outer.wait(timeout=10)


def test_facts_with_children_and_roles(start_trainer: Callable[..., Trainer]) -> None:
    trainer = start_trainer("--workers", "2")
    facts = procinfo.facts(procinfo.get_process(trainer.pid), with_children=True)
    assert facts.cwd == str(trainer.cwd) and facts.uid == os.getuid()
    assert facts.rss_bytes and facts.rss_bytes > 1_000_000
    assert {c.pid for c in facts.children} == set(trainer.worker_pids())
    assert {c.role for c in facts.children} == {"worker (DataLoader/multiprocessing)"}


def test_environment_and_open_files(start_trainer: Callable[..., Trainer]) -> None:
    trainer = start_trainer(env={"WORLD_SIZE": "8"})
    env = procinfo.environment(trainer.pid)
    assert env is not None and env["WORLD_SIZE"] == "8"
    assert any(p.endswith(".pt") for p in procinfo.open_paths(trainer.pid))


def test_cpu_sample_of_a_busy_process() -> None:
    busy = subprocess.Popen(["python3", "-c", "while True: pass"])
    try:
        idle = subprocess.Popen(["sleep", "30"])
        try:
            import time

            import psutil

            deadline = time.monotonic() + 20  # a loaded machine may not schedule it at once
            while psutil.Process(busy.pid).cpu_times().user < 0.2 and time.monotonic() < deadline:
                time.sleep(0.05)
            cpu = procinfo.sample_cpu_percent([busy.pid, idle.pid, 2**22 + 7], window_s=1.0)
        finally:
            idle.kill()
            idle.wait()
        # Two cores shared with other work: the spinning process gets some share, sleep none.
        assert set(cpu) == {busy.pid, idle.pid}
        assert cpu[busy.pid] > 1 and cpu[idle.pid] < 1 and cpu[busy.pid] > cpu[idle.pid]
    finally:
        busy.kill()
        busy.wait()


def test_missing_pid_is_not_found() -> None:
    with pytest.raises(NotFoundError, match="no process"):
        procinfo.get_process(2**22 + 5)


def test_a_zombie_is_reported_as_exited() -> None:
    import psutil

    child = subprocess.Popen(["true"])
    try:
        wait_until(lambda: psutil.Process(child.pid).status() == psutil.STATUS_ZOMBIE)
        with pytest.raises(NotFoundError, match="zombie"):
            procinfo.describe_tree(child.pid)
    finally:
        child.wait()
