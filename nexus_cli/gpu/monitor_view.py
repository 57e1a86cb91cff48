"""The interactive monitor's frame (Rich): devices with sparklines, the process table with its
cursor, the selected process's impact in a side panel, and a status line."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from nexus_cli.gpu.monitor import Snapshot
from nexus_cli.gpu.monitor_state import History, MonitorState
from nexus_cli.gpu.units import NA, duration, number, size
from nexus_cli.terminal import escape

if TYPE_CHECKING:
    from rich.console import RenderableType

_BARS = "▁▂▃▄▅▆▇█"
_SCALE = {"util": 100.0, "memory": 100.0, "temp": 100.0}
HELP = (
    "↑↓ move  s sort  / filter  Enter impact  g graceful  p suspend  r resume  K kill"
    "  Esc close  q quit"
)


def sparkline(values: Iterable[float], top: float | None = None, width: int = 12) -> str:
    """``▁▃▅█``: the last ``width`` values, scaled to ``top`` (or to their own maximum)."""
    recent = list(values)[-width:]
    if not recent:
        return ""
    peak = top or max(recent) or 1.0
    return "".join(_BARS[min(7, max(0, int(v / peak * 7.999)))] for v in recent)


def _spark(past: Mapping[str, Iterable[float]], key: str, top: float | None = None) -> str:
    return sparkline(past.get(key, []), top or _SCALE.get(key))


def _device_table(snap: Snapshot, history: History) -> RenderableType:
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, header_style="bold", expand=True, title="GPUs")
    for column in ("gpu", "name", "util", "memory", "temp", "power", "procs"):
        table.add_column(column, no_wrap=True)
    for d in snap.devices:
        past = history.series.get(d.index, {})
        memory = NA
        if d.memory_used is not None and d.memory_total is not None:
            memory = f"{size(d.memory_used)} / {size(d.memory_total)}"
        power = NA if d.power_draw_w is None else f"{d.power_draw_w:.0f} W"
        table.add_row(
            d.index + (" (MIG)" if d.is_mig else ""),
            d.name or NA,
            f"{number(d.utilization_pct, '%'):>4} {_spark(past, 'util')}",
            f"{memory} {_spark(past, 'memory')}",
            f"{number(d.temperature_c, '°C'):>5} {_spark(past, 'temp')}",
            f"{power:>6} {_spark(past, 'power', d.power_limit_w)}",
            str(len(snap.processes.get(d.index, []))),
        )
    return table


def _process_table(state: MonitorState) -> RenderableType:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    where = f", filter {state.filter_text!r}" if state.filter_text else ""
    table = Table(
        box=box.SIMPLE_HEAD,
        header_style="bold",
        expand=True,
        title=Text(f"Processes (sorted by {state.sort}{where})"),
    )
    for column in ("", "gpu", "pid", "user", "name", "gpu memory", "sm", "runtime"):
        table.add_column(column, no_wrap=True)
    selected = state.selected()
    for r in state.visible():
        mark = "›" if selected is not None and r.pid == selected.pid else " "
        cells = (
            mark,
            r.gpu,
            str(r.pid),
            r.user,
            r.name,
            size(r.used_memory),
            number(r.sm_util, "%"),
            duration(r.runtime_s),
        )
        style = "reverse" if selected is not None and r.pid == selected.pid else None
        table.add_row(*(Text(c) for c in cells), style=style)
    if not state.visible():
        table.add_row(Text("no GPU processes" + (" match the filter" if state.filter_text else "")))
    return table


def _status_line(state: MonitorState) -> RenderableType:
    from rich.text import Text

    if state.typing is not None:
        return Text(f"filter (user:NAME or text in the name): {state.typing}▏", style="bold")
    confirm = state.confirmation()
    if confirm is not None:
        return Text(confirm, style="bold yellow")
    return Text(
        f"{escape(state.message, newlines=False)}  |  {HELP}" if state.message else HELP,
        style="dim",
    )


def render_interactive(
    snap: Snapshot, history: History, state: MonitorState, panel: list[str] | None
) -> RenderableType:
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    procs = _process_table(state)
    if panel is not None and state.inspected_pid is not None:
        grid = Table.grid(expand=True)
        grid.add_column(ratio=3)
        grid.add_column(ratio=2)
        side = Panel(Text("\n".join(panel)), title=f"impact: PID {state.inspected_pid}")
        grid.add_row(procs, side)
        procs = grid
    return Group(_device_table(snap, history), procs, _status_line(state))
