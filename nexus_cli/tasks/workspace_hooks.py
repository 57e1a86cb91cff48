"""Which workspace host hooks may run: the user's own, and the project's once a person approved
them (the same approvals and trust rules as gates, :mod:`nexus_cli.tasks.approvals`).

A committed ``.nexus/config.yaml`` can propose ``workspaces.hooks``, but a repository must not be
able to run a command on a developer's machine by being cloned: each of its hook commands waits
until a person runs ``nexus workspace hooks --approve`` at a terminal (or a trust rule of their
own covers it). A changed command, or one moved to another event, needs approving again. Hooks in the user's own
``<config dir>/config.yaml`` are theirs and run as written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nexus_cli import config_yaml, paths
from nexus_cli.errors import GateNeedsApprovalError, UsageError
from nexus_cli.project import Project
from nexus_cli.tasks import approvals
from nexus_cli.tasks.model import Gate
from nexus_cli.terminal import escape
from nexus_cli.workspaces import host_hooks
from nexus_cli.workspaces.host_hooks import HostHook, HostHooks

# The approvals entries of a project's workspace hooks, one per event (never a task id: those
# have no "@"). Per event because the event decides where and when a command runs: ``rm -rf .``
# approved before a delete (in the worktree) must not run before a create (in the project).
APPROVALS_KEY = "@workspace-hooks"


def approvals_key(event: str) -> str:
    return f"{APPROVALS_KEY}:{event}"


USER_CONFIG_FILE = "config.yaml"


@dataclass(frozen=True, slots=True)
class HookView:
    hook: HostHook
    approval: str | None  # how it may run ("user", "terminal", "rule …"), None: waits

    def to_json(self) -> dict[str, Any]:
        return {
            "event": self.hook.event,
            "command": self.hook.command,
            "origin": self.hook.origin,
            "approved": self.approval is not None,
            "how": self.approval,
        }


def user_config_path() -> Path:
    return paths.user_config_dir() / USER_CONFIG_FILE


def configured(project: Project) -> list[HostHook]:
    """Every hook in the user's configuration, then every hook in the project's."""
    found: list[HostHook] = []
    for path, origin in ((user_config_path(), "user"), (project.config_path, "project")):
        if not os.path.isfile(path):
            continue
        section = config_yaml.load_yaml_mapping(path, what="configuration").get("workspaces")
        if section is not None and not isinstance(section, dict):
            raise config_yaml.key_error(path, "workspaces", "must be a mapping")
        found.extend(host_hooks.parse((section or {}).get("hooks"), path, origin))
    return found


def listing(project: Project) -> list[HookView]:
    book = approvals.Book(project)
    views = []
    for hook in configured(project):
        if hook.origin == "user":
            views.append(HookView(hook, "user"))
            continue
        approval = book.approval_for(approvals_key(hook.event), Gate(hook.command))
        how = (
            None
            if approval is None
            else (approval.rule and f"rule {approval.rule}") or approval.how
        )
        views.append(HookView(hook, how))
    return views


def load(project: Project) -> HostHooks:
    """The hooks to run; :class:`GateNeedsApprovalError` (exit 5, nothing ran) while a project
    hook waits for a person's approval."""
    views = listing(project)
    waiting = [v.hook for v in views if v.approval is None]
    if waiting:
        first = waiting[0]
        raise GateNeedsApprovalError(
            f"the project's {first.event} hook `{escape(first.command, newlines=False)}` waits "
            "for a person's approval"
            + (f" ({len(waiting) - 1} more too)" if len(waiting) > 1 else ""),
            hint="a person must approve it: nexus workspace hooks --approve",
        )
    return HostHooks(tuple(v.hook for v in views))


def approve(project: Project, *, ask: Any = approvals.ask_person) -> list[HostHook]:
    """Show the waiting project hooks and approve them if the person at ``/dev/tty`` says yes;
    the hooks approved (none when none waited)."""
    waiting = [v.hook for v in listing(project) if v.approval is None]
    if not waiting:
        return []
    lines = [f"  {hook.event}: {escape(hook.command, newlines=False)}" for hook in waiting]
    question = (
        f"{project.config_path} asks to run these commands on this machine around workspaces:\n"
        + "\n".join(lines)
        + "\nApprove them? [y/N] "
    )
    if not ask(question):
        raise UsageError("not approved: nothing changed")
    for event in dict.fromkeys(h.event for h in waiting):
        gates = [Gate(h.command) for h in waiting if h.event == event]
        approvals.approve(project, approvals_key(event), gates, how="terminal")
    return waiting
