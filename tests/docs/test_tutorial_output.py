"""The tutorial shows real output: the commands whose output does not depend on time, random IDs
or paths are run again here and must still print exactly what the tutorial says."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from tests.conftest import run_nexus

TUTORIAL = Path(__file__).resolve().parents[2] / "docs" / "tutorial" / "getting-started.md"

# In the order the tutorial runs them (the persona commands build on each other).
STABLE = [
    "nexus template list",
    "nexus persona add developer --dry-run",
    "nexus persona add developer",
    "nexus persona current",
]


def console_transcript(text: str) -> dict[str, list[str]]:
    """Each `$ command` of the ```console blocks, with the output lines that follow it."""
    transcript: dict[str, list[str]] = {}
    in_console = False
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("```"):
            in_console = line.strip() == "```console"
            current = None
        elif in_console and line.startswith("$ "):
            command = line[2:].split("  #")[0].strip()
            current = transcript.setdefault(command, [])
        elif in_console and current is not None:
            current.append(line.rstrip())
    return transcript


def test_the_transcript_parser_pairs_commands_with_their_output() -> None:
    text = "x\n```console\n$ nexus a   # why\nout 1\nout 2\n$ nexus b\n```\n$ not a command\n"
    assert console_transcript(text) == {"nexus a": ["out 1", "out 2"], "nexus b": []}


@pytest.mark.usefixtures("project")
def test_stable_tutorial_output_is_what_nexus_prints() -> None:
    transcript = console_transcript(TUTORIAL.read_text(encoding="utf-8"))
    for command in STABLE:
        assert command in transcript, f"the tutorial no longer runs `{command}`"
        result = run_nexus(*shlex.split(command)[1:])
        assert result.exit_code == 0, result.stderr
        printed = [line.rstrip() for line in (result.stdout + result.stderr).splitlines()]
        assert printed == transcript[command], command
