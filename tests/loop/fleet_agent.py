"""A scripted agent for `nexus fleet` tests: commits ``<title>.txt`` in its worktree.

With FLEET_AGENT_HANG set to a folder, the first run of a task whose title starts with ``hang``
writes its pid there (``<title>.pid``) and sleeps, so that a test can kill it mid-task. With
FLEET_AGENT_SHARED set to a file name, every task also writes its title into that file. With
FLEET_AGENT_ALSO set to a file name, that file is committed too when the worktree has it (what a
template's container hook wrote there, kept on the target branch for a test to read). A task
whose title starts with ``gate-adder`` gets a gate added by its agent (which waits for a person's
approval).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

task_id = os.environ["NEXUS_TASK_ID"]
shown = subprocess.run(
    [sys.executable, "-m", "nexus_cli", "task", "show", task_id, "--json"],
    capture_output=True,
    text=True,
    check=True,
)
title = json.loads(shown.stdout)["title"]
if title.startswith("gate-adder"):  # an agent that adds a gate to its own task: it waits
    subprocess.run(
        [sys.executable, "-m", "nexus_cli", "task", "gate", "add", task_id, "test -f extra"],
        check=True,
    )
hang = os.environ.get("FLEET_AGENT_HANG")
if hang and title.startswith("hang"):
    mark = Path(hang) / f"{title}.pid"
    if not mark.exists():
        mark.write_text(str(os.getpid()))
        time.sleep(600)
env_seen = {
    k: v
    for k, v in os.environ.items()
    if k.startswith(("NEXUS_PORT", "NEXUS_SERVICE", "NEXUS_WORKSPACE", "PORT"))
}
Path(f"{title}.txt").write_text(f"{title}\n")
shared = os.environ.get("FLEET_AGENT_SHARED")  # every task writes this file: they conflict
if shared:
    Path(shared).write_text(f"{title}\n")
Path(f"{title}.env.json").write_text(json.dumps(env_seen, sort_keys=True) + "\n")
also = os.environ.get("FLEET_AGENT_ALSO")
extra = [name for name in (shared, also) if name and Path(name).exists()]
subprocess.run(["git", "add", f"{title}.txt", f"{title}.env.json", *extra], check=True)
subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", title], check=True)
