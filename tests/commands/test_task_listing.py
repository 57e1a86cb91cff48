"""`nexus task list|ready` (commands/task_listing.py): the listings, and what they load."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.tasks.conftest import new_task, ok

# What the listings never need: the other task commands' modules and the changes they make.
NOT_LOADED = (
    "nexus_cli.commands.task_changes",
    "nexus_cli.commands.task_gates",
    "nexus_cli.commands.task_queries",
    "nexus_cli.tasks.actions",
    "nexus_cli.tasks.lifecycle",
)


def test_ready_and_list_show_the_task(project: Path) -> None:
    task_id = new_task("Ship it")
    assert [t["id"] for t in ok("task", "ready", "--json").json()] == [task_id]
    assert task_id in ok("task", "list").stdout


def test_ready_loads_no_other_task_command(project: Path) -> None:
    new_task("Ship it")
    code = (
        "import sys\nfrom nexus_cli.cli import main\nmain(['task', 'ready', '--json'])\n"
        f"print('LOADED=' + ','.join(m for m in {NOT_LOADED!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ}
    )
    assert out.returncode == 0, out.stderr
    *listing, loaded = out.stdout.strip().splitlines()
    assert loaded == "LOADED="
    assert len(json.loads("\n".join(listing))) == 1
