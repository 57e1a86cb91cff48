"""The interactive monitor's state: history, the process list, sorting, filtering, selection,
and what each key asks for. No terminal and no Rich here: keys in, commands out.

Keys: ↑/↓ (or k/j) move, ``s`` cycles the sort (memory, utilisation, runtime), ``/`` filters
(``user:NAME`` or text in the name), Enter inspects the selected process (its impact report),
``g`` graceful stop, ``p`` suspend, ``r`` resume, ``K`` kill (each asks ``y`` to confirm), ``q``
quits.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from nexus_cli.gpu.monitor import Snapshot, flagged
from nexus_cli.terminal import escape

SORTS = ("memory", "utilisation", "runtime")
HISTORY = 30  # samples kept per device and metric
ACTION_KEYS = {"g": "graceful", "p": "suspend", "r": "resume", "K": "kill"}
_ESCAPES = {"\x1b[A": "up", "\x1bOA": "up", "\x1b[B": "down", "\x1bOB": "down"}


@dataclass
class ProcRow:
    gpu: str
    pid: int
    name: str
    user: str
    used_memory: int | None
    sm_util: int | None
    create_time: float | None

    @property
    def runtime_s(self) -> float | None:
        return None if self.create_time is None else max(0.0, time.time() - self.create_time)


@dataclass
class Command:
    kind: str  # "inspect", "act" or "quit"
    pid: int = 0
    action: str = ""
    create_time: float | None = None


@dataclass
class History:
    """The last samples of each device: utilisation, memory %, temperature, power."""

    series: dict[str, dict[str, deque[float]]] = field(default_factory=dict)

    def add(self, snap: Snapshot) -> None:
        for d in snap.devices:
            mem = None
            if d.memory_used is not None and d.memory_total:
                mem = 100.0 * d.memory_used / d.memory_total
            values = {
                "util": d.utilization_pct,
                "memory": mem,
                "temp": d.temperature_c,
                "power": d.power_draw_w,
            }
            mine = self.series.setdefault(d.index, {})
            for key, value in values.items():
                if value is not None:
                    mine.setdefault(key, deque(maxlen=HISTORY)).append(float(value))


def process_list(snap: Snapshot) -> list[ProcRow]:
    return [
        ProcRow(
            gpu,
            p.pid,
            flagged(escape(snap.names.get(p.pid, "?"), newlines=False), snap.flags.get(p.pid)),
            escape(snap.users.get(p.pid, "?"), newlines=False),
            p.used_memory,
            snap.sm_util.get(gpu, {}).get(p.pid),
            snap.started.get(p.pid),
        )
        for gpu, plist in snap.processes.items()
        for p in plist
    ]


def parse_keys(data: str) -> list[str]:
    """Terminal input as key names: "up", "down", "enter", "esc", "backspace", or the character."""
    keys: list[str] = []
    i = 0
    while i < len(data):
        seq = next((s for s in _ESCAPES if data.startswith(s, i)), None)
        if seq is not None:
            keys.append(_ESCAPES[seq])
            i += len(seq)
            continue
        char = data[i]
        keys.append(
            {
                "\r": "enter",
                "\n": "enter",
                "\x1b": "esc",
                "\x7f": "backspace",
                "\x08": "backspace",
            }.get(char, char)
        )
        i += 1
    return keys


@dataclass
class MonitorState:
    rows: list[ProcRow] = field(default_factory=list)
    sort: str = "memory"
    filter_text: str = ""
    typing: str | None = None  # the filter being typed after "/"
    selected_pid: int | None = None
    inspected_pid: int | None = None
    pending: str | None = None  # an action waiting for "y"
    message: str = ""

    def visible(self) -> list[ProcRow]:
        rows = [r for r in self.rows if self._matches(r)]
        return sorted(rows, key=lambda r: (-self._sort_value(r), r.pid))

    def _sort_value(self, row: ProcRow) -> float:
        if self.sort == "memory":
            return float(row.used_memory or 0)
        if self.sort == "utilisation":
            return float(row.sm_util or 0)
        return row.runtime_s or 0.0

    def _matches(self, row: ProcRow) -> bool:
        text = self.filter_text.strip().lower()
        if not text:
            return True
        if text.startswith("user:"):
            return row.user.lower() == text[5:].strip()
        return text in row.name.lower()

    def selected(self) -> ProcRow | None:
        rows = self.visible()
        if not rows:
            return None
        match = next((r for r in rows if r.pid == self.selected_pid), None)
        if match is None:
            match = rows[0]
            self.selected_pid = match.pid
        return match

    def _move(self, step: int) -> None:
        rows = self.visible()
        if not rows:
            return
        current = self.selected()
        index = rows.index(current) if current in rows else 0
        self.selected_pid = rows[max(0, min(len(rows) - 1, index + step))].pid

    def handle_key(self, key: str) -> Command | None:
        """Apply one key; a :class:`Command` when the app must do something."""
        if self.typing is not None:
            return self._type(key)
        if self.pending is not None:
            return self._confirm(key)
        if key in ("q", "\x03"):
            return Command("quit")
        if key in ("up", "k", "down", "j"):
            self._move(-1 if key in ("up", "k") else 1)
        elif key == "s":
            self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
            self.message = f"sorted by {self.sort}"
        elif key == "/":
            self.typing = ""
        elif key == "esc":
            self.inspected_pid, self.message = None, ""
        elif key == "enter":
            row = self.selected()
            if row is not None:
                self.inspected_pid = row.pid
                return Command("inspect", row.pid)
        elif key in ACTION_KEYS:
            row = self.selected()
            if row is not None:
                self.pending = ACTION_KEYS[key]
        return None

    def _type(self, key: str) -> Command | None:
        assert self.typing is not None
        if key == "enter":
            self.filter_text, self.typing = self.typing, None
            self.message = f"filter: {self.filter_text}" if self.filter_text else "filter cleared"
        elif key == "esc":
            self.typing = None
        elif key == "backspace":
            self.typing = self.typing[:-1]
        elif len(key) == 1 and key.isprintable():
            self.typing += key
        return None

    def _confirm(self, key: str) -> Command | None:
        action, self.pending = self.pending, None
        row = self.selected()
        if key != "y" or action is None or row is None:
            self.message = f"{action} cancelled"
            return None
        return Command("act", row.pid, action, row.create_time)

    def confirmation(self) -> str | None:
        row = self.selected()
        if self.pending is None or row is None:
            return None
        return f"{self.pending} PID {row.pid} ({row.name}, user {row.user})? y to confirm, any other key cancels"
