"""A real terminal for tests: a detached tmux session of a given size, read with ``capture-pane``.

Each :class:`Terminal` runs its own tmux server (``-L`` socket named after the test process and an
object counter), so parallel tests never share one; :meth:`Terminal.close` kills that server.
"""

from __future__ import annotations

import itertools
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import pytest

_COUNTER = itertools.count()
SESSION = "term"


def require_tmux() -> None:
    """Skip without tmux (fail in CI, which installs it)."""
    if shutil.which("tmux") is None:
        if os.environ.get("CI"):
            pytest.fail("tmux is not installed (CI installs it)")
        pytest.skip("tmux is not installed")


def nexus_command(args: str, env: Mapping[str, str] | None = None) -> str:
    """A shell line that runs ``nexus ARGS`` with this test's home, sized by the terminal alone."""
    values = {
        "NEXUS_HOME": os.environ["NEXUS_HOME"],
        "HOME": os.environ["HOME"],
        "XDG_CONFIG_HOME": os.environ.get("XDG_CONFIG_HOME", ""),
        "XDG_DATA_HOME": os.environ.get("XDG_DATA_HOME", ""),
        "TERM": "xterm-256color",
        **(env or {}),
    }
    assigned = " ".join(f"{k}={shlex.quote(v)}" for k, v in values.items())
    return f"env -u COLUMNS -u LINES -u NO_COLOR {assigned} {shlex.quote(sys.executable)} -m nexus_cli {args}"


class Terminal:
    """One tmux window of ``width`` × ``height`` running a shell command."""

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self.socket = f"nexus-test-{os.getpid()}-{next(_COUNTER)}"

    def tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout

    def start(self, command: str, cwd: str | None = None) -> None:
        """Run ``command``; the window stays open afterwards so its output can be read."""
        where = ["-c", cwd] if cwd else []
        size = ["-x", str(self.width), "-y", str(self.height)]
        self.tmux("new-session", "-d", "-s", SESSION, *size, *where, f"{command}; sleep 60")

    def screen(self, history: bool = False) -> str:
        """The visible screen (with ``history``, the scrollback too); wrapped lines joined (``-J``).

        Joining means a line the program printed wider than the terminal comes back longer
        than :attr:`width`, so tests can tell a wrapped line from two printed lines.
        """
        scrollback = ["-S", "-"] if history else []
        text = self.tmux("capture-pane", "-p", "-J", *scrollback, "-t", SESSION)
        return "\n".join(line.rstrip() for line in text.splitlines())

    def wait(
        self, predicate: Callable[[str], bool], seconds: float = 30, history: bool = False
    ) -> str:
        """The screen once ``predicate`` holds for it (an AssertionError showing it otherwise)."""
        deadline = time.monotonic() + seconds
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen(history)
            if predicate(screen):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"the screen never matched:\n{screen}")

    def run(self, command: str, seconds: float = 30, cwd: str | None = None) -> list[str]:
        """Run ``command`` to its end (exit 0); its lines, scrollback included, without blanks."""
        self.start(f"{command}; echo EXITED-$?", cwd)
        screen = self.wait(lambda s: "EXITED-" in s, seconds, history=True)
        lines = screen.splitlines()
        end = next(i for i, line in enumerate(lines) if line.startswith("EXITED-"))
        assert lines[end] == "EXITED-0", screen
        return [line for line in lines[:end] if line]

    def pane_title(self) -> str:
        return self.tmux("display", "-p", "-t", SESSION, "#{pane_title}").strip()

    def send_keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", SESSION, *keys)

    def alternate_on(self) -> bool:
        return self.tmux("display", "-p", "-t", SESSION, "#{alternate_on}").strip() == "1"

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


SIZES = [(80, 24), (160, 50)]


def assert_fits(lines: list[str], width: int) -> None:
    """No line is wider than the terminal (a wrapped line comes back joined, so too long)."""
    wide = [line for line in lines if len(line) > width]
    assert not wide, "lines wider than the terminal:\n" + "\n".join(wide)


@contextmanager
def terminal(width: int, height: int) -> Iterator[Terminal]:
    require_tmux()
    term = Terminal(width, height)
    try:
        yield term
    finally:
        term.close()
