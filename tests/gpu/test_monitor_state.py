"""The interactive monitor's state: keys, sorting, filtering, selection, confirmation."""

from __future__ import annotations

import time

from nexus_cli.gpu.monitor import Snapshot
from nexus_cli.gpu.monitor_state import History, MonitorState, ProcRow, parse_keys
from nexus_cli.gpu.monitor_view import sparkline
from tests.gpu.conftest import GIB, make_gpu


def _rows() -> list[ProcRow]:
    now = time.time()
    return [
        ProcRow("0", 10, "python", "alice", 2 * GIB, 90, now - 50),
        ProcRow("0", 11, "sleep", "bob", 8 * GIB, 5, now - 500),
        ProcRow("1", 12, "torchrun", "alice", 4 * GIB, None, None),
    ]


def test_parse_keys() -> None:
    assert parse_keys("\x1b[A\x1b[Bq\r/\x7f\x1b") == [
        "up",
        "down",
        "q",
        "enter",
        "/",
        "backspace",
        "esc",
    ]


def test_sorts_cycle_and_order_rows() -> None:
    state = MonitorState(rows=_rows())
    assert [r.pid for r in state.visible()] == [11, 12, 10]  # memory
    state.handle_key("s")
    assert [r.pid for r in state.visible()] == [10, 11, 12]  # utilisation (n/a last)
    state.handle_key("s")
    assert [r.pid for r in state.visible()] == [11, 10, 12]  # runtime
    state.handle_key("s")
    assert state.sort == "memory"


def test_filter_by_name_or_user() -> None:
    state = MonitorState(rows=_rows())
    for key in ["/", *"torch", "enter"]:
        state.handle_key(key)
    assert [r.pid for r in state.visible()] == [12]
    for key in ["/", *"user:alice", "enter"]:
        state.handle_key(key)
    assert sorted(r.pid for r in state.visible()) == [10, 12]
    for key in ["/", "x", "esc"]:  # Esc abandons the new text, the filter stays
        state.handle_key(key)
    assert state.filter_text == "user:alice" and state.typing is None


def test_selection_follows_the_process_and_actions_need_y() -> None:
    state = MonitorState(rows=_rows())
    state.handle_key("down")
    assert state.selected_pid == 12
    state.handle_key("s")  # re-sorted: still PID 12
    assert state.selected() is not None and state.selected_pid == 12
    assert state.handle_key("K") is None
    assert "kill PID 12 (torchrun, user alice)?" in (state.confirmation() or "")
    assert state.handle_key("n") is None and state.message == "kill cancelled"
    state.handle_key("p")
    command = state.handle_key("y")
    assert command is not None and (command.kind, command.pid, command.action) == (
        "act",
        12,
        "suspend",
    )
    inspect = state.handle_key("enter")
    assert inspect is not None and inspect.kind == "inspect" and state.inspected_pid == 12
    assert state.handle_key("q") is not None


def test_history_and_sparklines() -> None:
    history = History()
    for util in (0, 50, 100):
        history.add(Snapshot([make_gpu("0", utilization_pct=util, power_draw_w=None)], {}, {}))
    assert list(history.series["0"]["util"]) == [0.0, 50.0, 100.0]
    assert "power" not in history.series["0"]  # n/a readings leave no sample
    assert sparkline(history.series["0"]["util"], 100) == "▁▄█"
    assert sparkline([], 100) == ""
