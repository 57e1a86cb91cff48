"""An operation's deadline and its cancellation (nexus_cli/deadlines.py); how runs honour them is
in tests/test_proc.py."""

from __future__ import annotations

import threading
import time

import pytest

from nexus_cli import deadlines
from nexus_cli.errors import Cancelled


def test_an_inner_deadline_never_extends_the_outer_one() -> None:
    assert deadlines.time_left() is None and deadlines.current_deadline() is None
    with deadlines.deadline_after(10) as outer:
        with deadlines.deadline_after(3600) as inner:
            assert inner == outer  # the earlier stays
            left = deadlines.time_left()
            assert left is not None and 0 < left <= 10
        with deadlines.deadline_after(1) as shorter:
            assert shorter < outer
        assert deadlines.current_deadline() == outer
    assert deadlines.time_left() is None


def test_a_passed_deadline_leaves_no_time_and_clean_up_gets_its_own() -> None:
    cancellation = deadlines.Cancellation()
    cancellation.cancel("terminated")
    with deadlines.deadline_after(0), deadlines.cancellable(cancellation):
        time.sleep(0.01)
        assert deadlines.time_left() == 0.0
        with pytest.raises(Cancelled, match="terminated by the caller"):
            deadlines.check_cancelled()
        with deadlines.clean_up_within(30):
            left = deadlines.time_left()
            assert left is not None and left > 20
            deadlines.check_cancelled()  # the cancellation no longer applies
        assert deadlines.current_cancellation() is cancellation


def test_seconds_until() -> None:
    assert deadlines.seconds_until(None) is None
    assert deadlines.seconds_until(time.monotonic() - 5) == 0.0
    left = deadlines.seconds_until(time.monotonic() + 60)
    assert left is not None and 50 < left <= 60


def test_each_thread_has_its_own_operation() -> None:
    seen: list[float | None] = []
    with deadlines.deadline_after(10):
        worker = threading.Thread(target=lambda: seen.append(deadlines.time_left()))
        worker.start()
        worker.join()
    assert seen == [None]


def test_when_cancelled_runs_its_action_once_the_operation_is_cancelled() -> None:
    """A wait that cannot look at its cancellation (a read of a stream) is ended by the action."""
    cancellation = deadlines.Cancellation()
    ended = threading.Event()
    with deadlines.cancellable(cancellation), deadlines.when_cancelled(ended.set):
        threading.Timer(0.1, cancellation.cancel).start()
        assert ended.wait(30)  # the stream this stands for ends here
        with pytest.raises(Cancelled):
            deadlines.check_cancelled()
    ran: list[int] = []
    with deadlines.when_cancelled(lambda: ran.append(1)):  # no operation around: nothing to watch
        pass
    with (
        deadlines.cancellable(deadlines.Cancellation()),
        deadlines.when_cancelled(lambda: ran.append(2)),
    ):
        pass  # the block ended first: the action never runs
    assert ran == []
