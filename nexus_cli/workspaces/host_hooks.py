"""Commands on the host around a workspace's life: ``pre_create``, ``post_create``, ``pre_delete``.

They come from ``workspaces.hooks`` in the user's own configuration (``<config dir>/config.yaml``)
or in the project's ``.nexus/config.yaml``; a project's hook runs only once a person approved that
exact command (see :mod:`nexus_cli.tasks.workspace_hooks`, which hands the approved ones in here).

Each runs with ``sh -c`` in a new session (its whole process group is ended on a time limit or an
interrupt), ``pre_create`` in the project's top folder and the others in the worktree, with
``NEXUS_WORKSPACE``, ``NEXUS_WORKTREE``, ``NEXUS_BRANCH``, ``NEXUS_PROJECT_ROOT`` and the
workspace's host ports (``NEXUS_PORT_<NAME>``, ``PORT``) in its environment. A hook that fails
stops the step it guards: ``pre_create`` before anything is made, ``post_create`` with the create
rolled back, ``pre_delete`` with nothing deleted.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexus_cli import proc
from nexus_cli.config_yaml import key_error
from nexus_cli.errors import NexusError
from nexus_cli.terminal import escape
from nexus_cli.workspaces.progress import Progress

EVENTS = ("pre_create", "post_create", "pre_delete")
CREATE_EVENTS = ("pre_create", "post_create")  # what a create may run
DELETE_EVENTS = ("pre_delete",)  # what a delete may run
DEFAULT_TIMEOUT_S = 600.0
MAX_COMMAND_CHARS = 10_000
MAX_HOOKS = 20
TAIL_LINES = 10


@dataclass(frozen=True, slots=True)
class HostHook:
    event: str
    command: str
    origin: str  # "user" or "project"


@dataclass(frozen=True, slots=True)
class HostHooks:
    """The hooks that may run (a project's only once approved)."""

    hooks: tuple[HostHook, ...] = ()
    timeout_s: float = DEFAULT_TIMEOUT_S
    env: Mapping[str, str] = field(default_factory=dict)

    def of(self, event: str) -> list[HostHook]:
        return [hook for hook in self.hooks if hook.event == event]


NONE = HostHooks()


def parse(section: Any, path: Path | str, origin: str) -> list[HostHook]:
    """``workspaces.hooks`` of one configuration file: event -> command or list of commands."""
    if section is None:
        return []
    if not isinstance(section, dict):
        raise key_error(path, "workspaces.hooks", f"must map {', '.join(EVENTS)} to commands")
    found: list[HostHook] = []
    for event, value in section.items():
        key = f"workspaces.hooks.{event}"
        if event not in EVENTS:
            raise key_error(path, key, f"is not a hook (known: {', '.join(EVENTS)})")
        commands = [value] if isinstance(value, str) else value
        if not isinstance(commands, list) or len(commands) > MAX_HOOKS:
            raise key_error(path, key, f"must be a command or a list of up to {MAX_HOOKS}")
        for command in commands:
            if (
                not isinstance(command, str)
                or not command.strip()
                or len(command) > MAX_COMMAND_CHARS
                or "\x00" in command
            ):
                raise key_error(path, key, "must hold non-empty shell commands")
            found.append(HostHook(str(event), command, origin))
    return found


def run(
    hooks: HostHooks, event: str, *, cwd: Path, env: Mapping[str, str], progress: Progress
) -> None:
    """Run the ``event`` hooks in order; the first that fails raises (with its output's tail)."""
    for hook in hooks.of(event):
        shown = escape(hook.command, newlines=False)
        progress.begin(f"{event} hook")
        done = proc.run(
            ["sh", "-c", hook.command],
            cwd=cwd,
            env={**os.environ, **hooks.env, **env},
            timeout=hooks.timeout_s,
            new_session=True,
            merge_stderr=True,
        )
        progress.end(f"{event} hook")
        if done.timed_out or done.returncode != 0:
            tail = "\n".join(done.stdout.rstrip().splitlines()[-TAIL_LINES:])
            why = (
                f"did not finish within {hooks.timeout_s:g}s"
                if done.timed_out
                else f"exited with {done.returncode}"
            )
            raise NexusError(
                f"{event} hook `{shown}` ({hook.origin}) {why}",
                hint=escape(tail) if tail else None,
                category="hook_failed",
            )
        progress.say(f"{event} hook `{shown}` ran")
