"""`nexus task show|blocked|history` (commands/task_queries.py)."""

from __future__ import annotations

from pathlib import Path

from tests.tasks.conftest import new_task, ok


def test_show_blocked_and_history(project: Path) -> None:
    first = new_task("First")
    second = new_task("Second", "--depends-on", first)
    assert ok("task", "show", second, "--json").json()["depends_on"] == [first]
    assert f"{second}  Second" in ok("task", "show", second).stdout
    assert second in ok("task", "blocked").stdout
    assert next(h["action"] for h in ok("task", "history", first, "--json").json()) == "created"


def test_show_loads_neither_gpu_accounting_nor_the_history_command(project: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    task_id = new_task("Ship it")
    unwanted = ("nexus_cli.gpu.accounting", "nexus_cli.commands.task_history")
    code = (
        "import sys\nfrom nexus_cli.cli import main\n"
        f"main(['task', 'show', {task_id!r}, '--json'])\n"
        f"print('LOADED=' + ','.join(m for m in {unwanted!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ}
    )
    assert out.returncode == 0, out.stderr
    *shown, loaded = out.stdout.strip().splitlines()
    assert loaded == "LOADED="
    assert json.loads("\n".join(shown))["id"] == task_id
