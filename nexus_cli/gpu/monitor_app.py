"""The interactive `nexus gpu monitor`: a Rich full-screen view and a key loop on a raw terminal.

Rich (already a dependency) rather than Textual: see docs/gpu.md for the measured import and
refresh costs. NVML is polled every ``interval`` seconds; keys are read between polls (``select``),
and the screen is redrawn after each key, so the view reacts at once.
"""

from __future__ import annotations

import os
import select
import sys
import termios
import time
import tty
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from nexus_cli.errors import NexusError
from nexus_cli.gpu.actions import perform
from nexus_cli.gpu.ghosts import IDLE_AFTER_S
from nexus_cli.gpu.impact import analyze
from nexus_cli.gpu.model import NvmlSession
from nexus_cli.gpu.monitor import Poller, Snapshot
from nexus_cli.gpu.monitor_state import Command, History, MonitorState, parse_keys, process_list
from nexus_cli.gpu.monitor_view import render_interactive
from nexus_cli.gpu.report_text import panel_lines
from nexus_cli.telemetry.journal import invocation

if TYPE_CHECKING:
    from rich.console import Console, RenderableType


@contextmanager
def _cbreak(fd: int) -> Iterator[None]:
    """Keys one at a time, without echo; the terminal is restored on any exit."""
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


class MonitorApp:
    def __init__(
        self, session: NvmlSession, interval: float, idle_after_s: float = IDLE_AFTER_S
    ) -> None:
        self.session = session
        self.poller = Poller(session, idle_after_s)
        self.interval = interval
        self.history = History()
        self.state = MonitorState()
        self.panel: list[str] | None = None
        self.snap = self.poll()

    def poll(self) -> Snapshot:
        snap = self.poller.snapshot()
        self.history.add(snap)
        self.state.rows = process_list(snap)
        return snap

    def inspect(self, pid: int) -> None:
        try:
            self.panel = panel_lines(analyze(pid, [], self.session))
        except NexusError as exc:
            self.panel, self.state.inspected_pid = None, None
            self.state.message = exc.message

    def act(self, command: Command) -> None:
        if command.create_time is None:
            self.state.message = f"PID {command.pid} cannot be inspected: nothing was sent"
            return
        try:
            result = perform(command.pid, command.action, command.create_time)
        except NexusError as exc:
            self.state.message = exc.message
            return
        invocation.signal(
            "gpu_action", action=command.action, signal=result.signal, pids=len(result.pids)
        )
        sent = f"sent {result.signal} to {', '.join(map(str, result.pids))}"
        if self.state.inspected_pid == command.pid:
            if command.action == "kill":
                self.panel, self.state.inspected_pid = None, None
            else:
                self.inspect(command.pid)  # suspended or resumed: the panel shows it now
        self.state.message = sent

    def handle(self, command: Command | None) -> bool:
        """Carry out a key's command; False when the monitor should stop."""
        if command is None:
            return True
        if command.kind == "quit":
            return False
        if command.kind == "inspect":
            self.inspect(command.pid)
        elif command.kind == "act":
            self.act(command)
        return True

    def run(self, console: Console) -> None:
        """Draw full-screen on ``console`` (the command's, which honours NO_COLOR) until `q`."""
        from rich.live import Live

        fd = sys.stdin.fileno()

        def frame() -> RenderableType:
            return render_interactive(self.snap, self.history, self.state, self.panel)

        with _cbreak(fd), Live(frame(), console=console, screen=True, auto_refresh=False) as live:
            due = time.monotonic() + self.interval
            while True:
                live.update(frame(), refresh=True)
                ready, _, _ = select.select([fd], [], [], max(0.0, due - time.monotonic()))
                if ready:
                    data = os.read(fd, 256).decode("utf-8", "replace")
                    for key in parse_keys(data):
                        if not self.handle(self.state.handle_key(key)):
                            return
                if time.monotonic() >= due:
                    self.snap = self.poll()
                    due = time.monotonic() + self.interval
