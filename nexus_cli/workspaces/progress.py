"""How workspace operations report progress without printing: a small protocol.

The command layer passes a Rich implementation on a terminal; logic and tests use :class:`Silent`.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def begin(self, step: str) -> None:
        """A step started (``worktree``, ``pull postgres:16``, ``start db``, ``health db``)."""

    def advance(self, step: str, done: int, total: int) -> None:
        """Bytes (or items) done of ``total`` for a running step."""

    def end(self, step: str) -> None:
        """The step finished."""

    def say(self, message: str) -> None:
        """A one-line message for the user (a port that had to change, a hook that ran)."""


class Silent:
    """Progress that records messages and shows nothing."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.steps: list[str] = []

    def begin(self, step: str) -> None:
        self.steps.append(step)

    def advance(self, step: str, done: int, total: int) -> None:
        return None

    def end(self, step: str) -> None:
        return None

    def say(self, message: str) -> None:
        self.messages.append(message)
