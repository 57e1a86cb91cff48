"""Signalling a real trainer: graceful, suspend/resume, kill, reused PIDs, other users."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import psutil
import pytest

from nexus_cli.errors import ConflictError, NotFoundError
from nexus_cli.gpu import actions, guards
from tests.gpu.conftest import Trainer, wait_until


def _create_time(pid: int) -> float:
    return psutil.Process(pid).create_time()


def _status(pid: int) -> str:
    return psutil.Process(pid).status()


def test_graceful_sends_sigusr1_when_handled(start_trainer: Callable[..., Trainer]) -> None:
    trainer = start_trainer()
    result = actions.perform(trainer.pid, "graceful", _create_time(trainer.pid))
    assert result.signal == "SIGUSR1" and result.pids == [trainer.pid]
    assert trainer.proc.wait(timeout=10) == 0
    assert (trainer.ckpt_dir / "signal_SIGUSR1").exists()


def test_graceful_sends_sigterm_without_a_usr1_handler(
    start_trainer: Callable[..., Trainer],
) -> None:
    trainer = start_trainer("--no-usr1")
    result = actions.perform(trainer.pid, "graceful", _create_time(trainer.pid))
    assert result.signal == "SIGTERM"
    assert trainer.proc.wait(timeout=10) == 0
    assert (trainer.ckpt_dir / "signal_SIGTERM").exists()
    assert not (trainer.ckpt_dir / "signal_SIGUSR1").exists()


def test_suspend_then_resume_the_whole_tree(start_trainer: Callable[..., Trainer]) -> None:
    trainer = start_trainer("--interval", "0.2")
    tree = [trainer.pid, *trainer.worker_pids()]
    result = actions.perform(trainer.pid, "suspend", _create_time(trainer.pid))
    assert result.signal == "SIGSTOP" and sorted(result.pids) == sorted(tree)
    wait_until(lambda: all(_status(p) == psutil.STATUS_STOPPED for p in tree))
    count = len(trainer.checkpoints())
    time.sleep(0.6)  # three checkpoint intervals: a stopped trainer writes nothing
    assert len(trainer.checkpoints()) == count
    result = actions.perform(trainer.pid, "resume", _create_time(trainer.pid))
    assert result.signal == "SIGCONT" and result.pids[0] == trainer.pid
    wait_until(lambda: all(_status(p) != psutil.STATUS_STOPPED for p in tree))
    wait_until(lambda: len(trainer.checkpoints()) > count)


def test_kill_takes_the_workers_too(start_trainer: Callable[..., Trainer]) -> None:
    trainer = start_trainer()
    workers = trainer.worker_pids()
    result = actions.perform(trainer.pid, "kill", _create_time(trainer.pid))
    assert result.signal == "SIGKILL" and result.pids[-1] == trainer.pid
    assert trainer.proc.wait(timeout=10) == -9
    wait_until(lambda: not any(psutil.pid_exists(p) for p in workers))


def test_a_reused_pid_is_never_signalled(start_trainer: Callable[..., Trainer]) -> None:
    trainer = start_trainer()
    stale = _create_time(trainer.pid) - 3600  # what an analysis of an earlier owner saw
    with pytest.raises(ConflictError, match="different process"):
        actions.perform(trainer.pid, "kill", stale)
    assert trainer.proc.poll() is None and _status(trainer.pid) != psutil.STATUS_STOPPED


def test_other_users_processes_are_refused(start_trainer: Callable[..., Trainer]) -> None:
    trainer = start_trainer()
    other_uid = 65534 if os.getuid() != 65534 else 65533
    with pytest.raises(guards.RefusedError, match="another user"):
        actions.perform(trainer.pid, "kill", _create_time(trainer.pid), acting_uid=other_uid)
    assert trainer.proc.poll() is None


def test_a_gone_process_is_not_found() -> None:
    with pytest.raises(NotFoundError):
        actions.perform(2**22 + 4321, "kill", 0.0)
