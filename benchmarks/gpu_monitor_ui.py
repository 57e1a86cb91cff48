"""Rich vs Textual for `nexus gpu monitor`: import cost and the cost of one refresh.

    python benchmarks/gpu_monitor_ui.py            # Rich, and Textual when it is importable

Import cost: a fresh interpreter importing what each needs, minus a bare interpreter (median of
7). Refresh cost: one frame of 8 GPUs and 64 processes at 160x50. Rich: building the tables and
rendering them to a terminal-sized console. Textual: replacing a DataTable's rows and waiting for
the headless app to repaint (``App.run_test``). No GPU is needed: the rows are synthetic.
"""

from __future__ import annotations

import asyncio
import io
import statistics
import subprocess
import sys
import time

GPUS, PROCS, WIDTH, HEIGHT = 8, 64, 160, 50


def _import_ms(code: str) -> float:
    def once(snippet: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", snippet], check=True)
        return time.perf_counter() - start

    bare = statistics.median(once("pass") for _ in range(7))
    return (statistics.median(once(code) for _ in range(7)) - bare) * 1000


def _rows() -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    gpus = [(str(i), "H100", "95% ▂▃▅▇", "22/80 GiB", "78°C", "350 W") for i in range(GPUS)]
    procs = [
        (str(i % GPUS), str(1000 + i), "python", f"{i} GiB", "40%", "1h") for i in range(PROCS)
    ]
    return gpus, procs


def rich_refresh_ms() -> float:
    from rich.console import Console, Group
    from rich.table import Table

    gpus, procs = _rows()
    out = io.StringIO()
    console = Console(file=out, width=WIDTH, height=HEIGHT, force_terminal=True)
    times = []
    for _ in range(50):
        start = time.perf_counter()
        top = Table("gpu", "name", "util", "memory", "temp", "power")
        for row in gpus:
            top.add_row(*row)
        bottom = Table("gpu", "pid", "name", "memory", "sm", "runtime")
        for row in procs:
            bottom.add_row(*row)
        console.print(Group(top, bottom))
        times.append(time.perf_counter() - start)
        out.seek(0)
        out.truncate()
    return statistics.median(times) * 1000


def textual_refresh_ms() -> float:
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable

    gpus, procs = _rows()

    class Monitor(App[None]):
        def compose(self) -> ComposeResult:
            yield DataTable(id="gpus")
            yield DataTable(id="procs")

    async def run() -> float:
        app = Monitor()
        times = []
        async with app.run_test(size=(WIDTH, HEIGHT)) as pilot:
            top = app.query_one("#gpus", DataTable)
            bottom = app.query_one("#procs", DataTable)
            top.add_columns("gpu", "name", "util", "memory", "temp", "power")
            bottom.add_columns("gpu", "pid", "name", "memory", "sm", "runtime")
            for _ in range(20):
                start = time.perf_counter()
                top.clear()
                bottom.clear()
                top.add_rows(gpus)
                bottom.add_rows(procs)
                await pilot.pause()
                times.append(time.perf_counter() - start)
        return statistics.median(times) * 1000

    return asyncio.run(run())


def main() -> None:
    print(
        f"rich    import {_import_ms('import rich.live, rich.table, rich.layout'):6.1f} ms,"
        f" refresh {rich_refresh_ms():5.1f} ms"
    )
    try:
        import textual  # noqa: F401
    except ImportError:
        print("textual not installed: skipped")
        return
    print(
        f"textual import {_import_ms('import textual.app, textual.widgets'):6.1f} ms,"
        f" refresh {textual_refresh_ms():5.1f} ms"
    )


if __name__ == "__main__":
    main()
