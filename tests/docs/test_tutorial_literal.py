"""The tutorial, run literally: every ``$ command`` of docs/tutorial/getting-started.md, in order,
in one real bash with the real `nexus`, in a fresh folder, and its output compared with what the
tutorial shows.

What cannot be the same on two runs is normalised on both sides before comparing: the temporary
folder, task IDs (the tutorial's ID is replaced by the real one in later commands), dates,
durations and sizes. ``…`` in the tutorial stands for lines it leaves out. To update the tutorial, run this test with
``NEXUS_TUTORIAL_TRANSCRIPT=FILE``: FILE gets what really ran. The output of
machine-dependent commands (``doctor``, ``stats``, ``telemetry status``) is compared by its first
column only: which checks, figures and commands it lists.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.test_tutorial_output import TUTORIAL

BIN = Path(sys.executable).parent
TUTORIAL_ROOT = "/tmp/nexus-tut.MMZS"  # where the tutorial's transcript was made
SKIPPED = ("pipx install", "sudo apt install")  # installing: the test environment has done it
FIRST_COLUMN_ONLY = ("nexus doctor", "nexus stats", "nexus telemetry status")
MARK = "@@nexus-tutorial@@"


def console_steps(text: str) -> list[tuple[str, list[str]]]:
    """Each ``$ command`` of the ```console blocks, in order, with the output lines after it."""
    steps: list[tuple[str, list[str]]] = []
    in_console = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_console = line.strip() == "```console"
        elif in_console and line.startswith("$ "):
            command = re.sub(r"\s+#.*$", "", line[2:]).strip()
            steps.append((command, []))
        elif in_console and steps:
            steps[-1][1].append(line.rstrip())
    return steps


_NORMALISE = [
    (re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?( UTC)?"), "<when>"),
    (re.compile(r"\b\d+(\.\d+)?\s?(ms|s)\b"), "<time>"),
    (re.compile(r"\b\d+(h|m) \d+(m|s)\b"), "<time>"),
    (re.compile(r"\(\d+ bytes\)"), "(<size>)"),
    (re.compile(r"\b(pid|host|duration_ms)=\S+"), r"\1=<\1>"),
    (re.compile(r"\breceipt=tree:[0-9a-f-]+"), "receipt=tree:<tree>"),
    (re.compile(r"\s+"), " "),
]


def normalise(line: str, root: str, ids: dict[str, str]) -> str:
    line = line.replace(root, "<tmp>")
    for real, alias in ids.items():
        line = line.replace(real, alias)
    for pattern, replacement in _NORMALISE:
        line = pattern.sub(replacement, line)
    return line.strip()


def matches(expected: list[str], actual: list[str]) -> bool:
    """``actual`` equals ``expected``, where a line ``…`` in ``expected`` stands for any lines."""
    if not expected:
        return not actual
    if expected[0] == "…":
        return any(matches(expected[1:], actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and expected[0] == actual[0] and matches(expected[1:], actual[1:])


class Shell:
    """One real bash for the whole tutorial, so that `cd` and `$?` carry over from one command
    to the next; each command's stdout and stderr are read together, up to a marker line."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            text=True,
        )

    def run(self, command: str) -> list[str]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        # `$?` in a command is the previous command's code, as on a terminal: the marker's
        # own `echo` would reset it, so the code is kept and given back before each command.
        self.proc.stdin.write(f"(exit ${{rc:-0}}); {command} </dev/null\nrc=$?; echo {MARK}\n")
        self.proc.stdin.flush()
        lines = []
        for line in self.proc.stdout:
            if line.rstrip("\n") == MARK:
                return lines
            lines.append(line.rstrip("\n"))
        raise AssertionError(f"the shell ended during `{command}`:\n" + "\n".join(lines))

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_the_tutorial_runs_as_written(tmp_path: Path) -> None:
    if not (BIN / "nexus").exists():
        pytest.skip("no nexus console script beside this interpreter")
    steps = [(c, out) for c, out in console_steps(TUTORIAL.read_text(encoding="utf-8"))]
    steps = [(c, out) for c, out in steps if not c.startswith(SKIPPED)]
    env = {
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "HOME": str(tmp_path / "home"),
        "NEXUS_HOME": str(tmp_path / "home"),
        "NEXUS_AGENT": "Alice",
        "COLUMNS": "80",
        "LANG": "C.UTF-8",
        "GIT_AUTHOR_NAME": "Alice",
        "GIT_AUTHOR_EMAIL": "alice@example.invalid",
        "GIT_COMMITTER_NAME": "Alice",
        "GIT_COMMITTER_EMAIL": "alice@example.invalid",
    }
    (tmp_path / "home").mkdir()

    ids: dict[str, str] = {}  # real task ID -> the tutorial's
    outputs: list[list[str]] = []
    shell = Shell(tmp_path, env)
    try:
        for command, expected in steps:
            for real, alias in ids.items():  # the tutorial's ID, whole or as a prefix, is ours
                command = command.replace(alias, real).replace(alias[3:], real[3:])
            output = shell.run(command)
            if command.startswith("nexus task create"):
                ids[output[0].strip()] = expected[0].strip()
            outputs.append(output)
    finally:
        shell.close()

    if os.environ.get("NEXUS_TUTORIAL_TRANSCRIPT"):  # to update the tutorial: what really ran
        Path(os.environ["NEXUS_TUTORIAL_TRANSCRIPT"]).write_text(
            "".join(
                f"$ {c}\n" + "".join(f"{x}\n" for x in out)
                for (c, _), out in zip(steps, outputs, strict=True)
            )
        )
    for (command, expected), actual in zip(steps, outputs, strict=True):
        want = [normalise(x, TUTORIAL_ROOT, {}) for x in expected]
        got = [normalise(x, str(tmp_path), ids) for x in actual]
        if command.startswith(FIRST_COLUMN_ONLY):
            want = [x.split(" ")[0] for x in want if x]
            got = [x.split(" ")[0] for x in got if x]
        assert matches(want, got), (
            f"`{command}` printed:\n"
            + "\n".join(actual)
            + "\n\nthe tutorial shows:\n"
            + "\n".join(expected)
        )
