"""The one error hierarchy of Nexus.

Logic modules raise these; the single boundary in :mod:`nexus_cli.cli` turns them into a one-line
``error: ...`` on stderr (plus an optional ``hint: ...`` line) and the exit code they carry.
Keep this module free of heavy imports: it is loaded on every invocation.
"""

from __future__ import annotations

import signal
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    GATE_FAILED = 3
    CONFIRMATION_NEEDED = 4  # a command that asks first found no terminal to ask on, and no --yes
    NEEDS_APPROVAL = 5  # a gate's command waits for a person's approval: nothing ran
    HUNG_UP = 129  # 128 + SIGHUP: the terminal closed (a tab, an ssh connection that dropped)
    INTERRUPTED = 130
    TERMINATED = 143  # 128 + SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived (or SIGHUP: the terminal closed): raised like Ctrl-C so ``finally`` blocks
    and cleanup run (exit 143, or 129 after SIGHUP).

    It subclasses :class:`KeyboardInterrupt`, so code that already cleans up on Ctrl-C cleans up
    on SIGTERM too; code that treats Ctrl-C as a normal end (a ``--watch`` loop) still ends with
    143, because the root checks :func:`nexus_cli.cli.terminated`. ``signum`` is the signal.
    """

    def __init__(self, *args: object, signum: int = signal.SIGTERM) -> None:
        super().__init__(*args)
        self.signum = signum


def interrupting_signal(exc: BaseException) -> int:
    """The signal an interrupt stands for: a :class:`Terminated`'s own (SIGTERM, SIGHUP), else
    SIGINT (Ctrl-C). A command ended by it exits 128 plus that number."""
    return exc.signum if isinstance(exc, Terminated) else signal.SIGINT


class NexusError(Exception):
    """An expected failure with a message for people, an exit code and a telemetry category."""

    exit_code: int = ExitCode.ERROR
    category: str = "error"

    def __init__(
        self, message: str, *, hint: str | None = None, category: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if category is not None:
            self.category = category


class UsageError(NexusError):
    """Bad input from the command line: a wrong name, a bad date, conflicting options."""

    exit_code = ExitCode.USAGE
    category = "usage"


class NotFoundError(NexusError):
    category = "not_found"


class NotAProjectError(NexusError):
    category = "not_a_project"


class CwdGoneError(NexusError):
    """The current folder was deleted (or moved away) after the shell entered it."""

    category = "cwd_gone"

    def __init__(self) -> None:
        super().__init__(
            "the current folder no longer exists",
            hint="cd to an existing folder (this one was deleted or moved), or pass -C DIR",
        )


class ConfigError(NexusError):
    """A file Nexus reads (YAML, JSONL, TOML) is malformed; the message names file and key."""

    category = "config_invalid"


class ConflictError(NexusError):
    """The operation would clobber something or races another writer."""

    category = "conflict"


class DockerUnavailableError(NexusError):
    category = "docker_unavailable"


class StateError(NexusError):
    """A database or state file is unreadable, corrupt or not writable."""

    category = "state_corrupt"


class ConfirmationNeededError(NexusError):
    """A command that asks before acting runs without a terminal and without ``--yes``."""

    exit_code = ExitCode.CONFIRMATION_NEEDED
    category = "confirmation_needed"


class NoTerminalError(ConfirmationNeededError):
    """Approving a gate needs a person at a terminal, and this process has none (exit 4)."""


class CannotStartError(NexusError):
    """A process could not be started: its folder is missing, or the program cannot run."""

    category = "cannot_start"


class CommandNotFoundError(CannotStartError):
    """A program Nexus runs (git, sh, crontab, docker) is not installed, or not on PATH."""

    category = "command_not_found"


class GateFailedError(NexusError):
    """A verification gate failed: the task does not move on."""

    exit_code = ExitCode.GATE_FAILED
    category = "gate_failed"


class GateNeedsApprovalError(NexusError):
    """A gate's command has not been approved by a person for its task: nothing ran (exit 5)."""

    exit_code = ExitCode.NEEDS_APPROVAL
    category = "needs_approval"


class Cancelled(NexusError):
    """The operation was cancelled by its caller (an MCP client's ``notifications/cancelled`` or
    a client that went away): what it started is ended, what it claimed restored."""

    exit_code = ExitCode.INTERRUPTED
    category = "interrupted"

    def __init__(self, message: str, *, reason: str = "cancelled") -> None:
        super().__init__(message)
        self.reason = reason  # a word for the history: cancelled, terminated, interrupted


class DeadlineError(NexusError):
    """An operation ran past its overall deadline; what it started is ended (docs/security.md)."""

    category = "timeout"
