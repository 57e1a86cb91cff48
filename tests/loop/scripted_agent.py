"""A real (scripted) coding agent for `nexus loop` tests: it reads its prompt and edits files.

Run as ``python scripted_agent.py`` with the task context on stdin, in the task's folder. On the
first iteration of a task it makes a broken change (``status.txt`` = ``broken``, which fails the
gate ``grep -qx ok status.txt``); from the second on it fixes it, and does what the package-release
stages ask: a CHANGELOG entry (prepare) and the release tag (publish).

Environment knobs: SCRIPTED_AGENT_LOG (folder: each prompt and a runs.txt journal are written
there), SCRIPTED_AGENT_MODE=never (never fix), SCRIPTED_AGENT_EXIT (exit code),
SCRIPTED_AGENT_PROMISE (printed at the end of every run), SCRIPTED_AGENT_SLEEP (seconds to sleep first).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path


def _stage(prompt: str) -> str | None:
    found = re.search(r"stage:([a-z0-9-]+)", prompt)
    return found.group(1) if found else None


def _version(prompt: str) -> str:
    found = re.search(r"^# nx-[0-9a-z]+: \w+ release (\S+)$", prompt, re.MULTILINE)
    return found.group(1) if found else "0.0.0"


def _fix(prompt: str) -> None:
    Path("status.txt").write_text("ok\n")
    stage = _stage(prompt)
    if stage == "prepare":
        with open("CHANGELOG.md", "a") as changelog:
            changelog.write(f"\n## {_version(prompt)}\n\n- released by the scripted agent\n")
    elif stage == "publish":
        version = _version(prompt)
        subprocess.run(["git", "tag", "-a", f"v{version}", "-m", version], check=True)


def main() -> int:
    prompt = sys.stdin.read()
    task = os.environ["NEXUS_TASK_ID"]
    iteration = int(os.environ["NEXUS_LOOP_ITERATION"])
    log = Path(os.environ["SCRIPTED_AGENT_LOG"])
    log.mkdir(parents=True, exist_ok=True)
    (log / f"prompt-{task}-{iteration}.md").write_text(prompt)
    (log / f"otel-{task}-{iteration}.txt").write_text(
        os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "")
    )
    with open(log / "runs.txt", "a") as runs:
        runs.write(f"{task} {iteration} {os.environ.get('NEXUS_WORKSPACE', '-')} {os.getcwd()}\n")
    (log / "agent.pid").write_text(str(os.getpid()))
    time.sleep(float(os.environ.get("SCRIPTED_AGENT_SLEEP", "0")))
    if iteration == 1 or os.environ.get("SCRIPTED_AGENT_MODE") == "never":
        Path("status.txt").write_text("broken\n")
        print("made a first attempt")
    else:
        _fix(prompt)
        print("fixed it")
    if os.environ.get("SCRIPTED_AGENT_PROMISE"):
        print(os.environ["SCRIPTED_AGENT_PROMISE"])
    return int(os.environ.get("SCRIPTED_AGENT_EXIT", "0"))


if __name__ == "__main__":
    sys.exit(main())
