"""The roll-up figures of one stretch of time (:class:`Part`), merged over its days.

:mod:`~nexus_cli.telemetry.query.aggregate` computes them; :mod:`~nexus_cli.telemetry.query.day_cache`
keeps the merged past days of a window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nexus_cli.telemetry.db import sketch
from nexus_cli.telemetry.db.rollup_fold import Seen

Cell = list[Any]  # n, first and last timestamp, smallest session id, smallest and largest value


@dataclass
class Part:
    """The roll-up figures of one stretch of time, merged over its days."""

    commands: dict[str, list[int]] = field(default_factory=dict)
    durations: dict[str, dict[int, Cell]] = field(default_factory=dict)
    seen: dict[tuple[str, str], Seen] = field(default_factory=dict)

    def add(self, other: Part) -> Part:
        for command, figures in other.commands.items():
            mine = self.commands.setdefault(command, [0] * len(figures))
            for i, value in enumerate(figures):
                mine[i] += value
        for command, cells in other.durations.items():
            buckets = self.durations.get(command)
            if buckets is None:  # a command new to this part: its cells copied at once
                self.durations[command] = {index: list(cell) for index, cell in cells.items()}
                continue
            for index, cell in cells.items():
                _add_cell(buckets, index, cell)
        for key, seen in other.seen.items():
            if key in self.seen:
                self.seen[key].add(seen)
            else:
                self.seen[key] = Seen(seen.n, seen.first, seen.last, set(seen.sessions))
        return self

    def runs(self, command: str) -> int:
        return sum(cell[0] for cell in self.durations.get(command, {}).values())

    def percentile(self, command: str, fraction: float) -> int | None:
        """:func:`sketch.percentile` of ``command``'s histogram, clamped to each bucket's values."""
        cells = self.durations.get(command, {})
        counts = {index: cell[0] for index, cell in cells.items()}
        bounds = {index: (cell[4], cell[5]) for index, cell in cells.items()}
        return sketch.percentile(counts, fraction, bounds)

    def kind(self, kind: str) -> dict[str, Seen]:
        return {key: seen for (k, key), seen in self.seen.items() if k == kind}


def _add_cell(buckets: dict[int, Cell], index: int, cell: Cell) -> None:
    mine = buckets.get(index)
    if mine is None:
        buckets[index] = list(cell)
        return
    mine[0] += cell[0]
    mine[1], mine[2], mine[3] = min(mine[1], cell[1]), max(mine[2], cell[2]), min(mine[3], cell[3])
    mine[4], mine[5] = min(mine[4], cell[4]), max(mine[5], cell[5])
