"""Which workspace host hooks may run: the user's own, and the project's once a person approved
them (the same approvals and trust rules as gates, :mod:`nexus_cli.tasks.approvals`).

A committed ``.nexus/config.yaml`` can propose ``workspaces.hooks``, but a repository must not be
able to run a command on a developer's machine by being cloned: each of its hook commands waits
until a person runs ``nexus workspace hooks --approve`` at a terminal (or a trust rule of their
own covers it). A changed command, or one moved to another event, needs approving again. Hooks in the user's own
``<config dir>/config.yaml`` are theirs and run as written.

The container hooks (``x-nexus.hooks``: ``post_create``, ``post_start``) of a template in the
project's ``.nexus/templates/`` are repository content too, and run in a container that has the
worktree mounted read-write: each waits the same way, keyed by the template, the event, the
service and the exact command (:func:`container_hooks` is the check every create and up is
given). A built-in template's and the user's own (``<config dir>/templates/``) run as written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nexus_cli import config_yaml, paths
from nexus_cli.errors import GateNeedsApprovalError, NexusError, UsageError
from nexus_cli.project import Project
from nexus_cli.tasks import approvals
from nexus_cli.tasks.model import Gate
from nexus_cli.terminal import escape
from nexus_cli.workspaces import host_hooks, templates
from nexus_cli.workspaces.host_hooks import HostHook, HostHooks
from nexus_cli.workspaces.service_model import Hook
from nexus_cli.workspaces.template_model import (
    CONTAINER_HOOK_EVENTS,
    HookCheck,
    Template,
    hooks_wait,
)

# The approvals entries of a project's workspace hooks, one per event (never a task id: those
# have no "@"). Per event because the event decides where and when a command runs: ``rm -rf .``
# approved before a delete (in the worktree) must not run before a create (in the project).
APPROVALS_KEY = "@workspace-hooks"


def approvals_key(event: str) -> str:
    return f"{APPROVALS_KEY}:{event}"


# A project template's container hooks: one entry per template and event (the template decides
# the container a command runs in; the service is part of each approval, as a gate's is).
CONTAINER_KEY = "@container-hooks"


def container_key(template: str, event: str) -> str:
    return f"{CONTAINER_KEY}:{template}:{event}"


def _container_gate(hook: Hook) -> Gate:
    return Gate(hook.text, service=hook.service)


def _how(book: approvals.Book, key: str, gate: Gate) -> str | None:
    """How ``gate`` under ``key`` may run ("terminal", "rule …"), None while it waits."""
    approval = book.approval_for(key, gate)
    if approval is None:
        return None
    return (approval.rule and f"rule {approval.rule}") or approval.how


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
    sources = (
        (user_config_path(), "user", None),
        (project.config_path, "project", project.root),  # below the root, links refused
    )
    for path, origin, root in sources:
        section = config_yaml.config_section(path, "workspaces", what="configuration", root=root)
        found.extend(host_hooks.parse((section or {}).get("hooks"), path, origin))
    return found


def listing(project: Project) -> list[HookView]:
    book = approvals.Book(project)
    views = []
    for hook in configured(project):
        if hook.origin == "user":
            views.append(HookView(hook, "user"))
            continue
        views.append(HookView(hook, _how(book, approvals_key(hook.event), Gate(hook.command))))
    return views


def load(project: Project, events: Sequence[str]) -> HostHooks:
    """The hooks of ``events`` (what the command about to run may run:
    :data:`host_hooks.CREATE_EVENTS`, :data:`host_hooks.DELETE_EVENTS`);
    :class:`GateNeedsApprovalError` (exit 5, nothing ran) while a project hook of one of them
    waits for a person's approval. One of another event waits for its own command: a
    ``pre_delete`` hook nobody approved yet does not hold a create."""
    views = [v for v in listing(project) if v.hook.event in events]
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


def _ask_about_hooks(question: str) -> bool:
    return approvals.ask_person(
        question, what="workspace hooks", command="nexus workspace hooks --approve"
    )


def approve(project: Project, *, ask: Any = _ask_about_hooks) -> list[HostHook]:
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


# --- container hooks of the project's templates -----------------------------------------------


@dataclass(frozen=True, slots=True)
class ContainerHookView:
    template: Template
    event: str
    hook: Hook
    approval: str | None  # how it may run ("builtin", "user", "terminal", "rule …"), None: waits

    def to_json(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "command": self.hook.text,
            "origin": self.template.origin,
            "approved": self.approval is not None,
            "how": self.approval,
            "template": self.template.name,
            "service": self.hook.service,
        }


def _container_views(book: approvals.Book, template: Template) -> list[ContainerHookView]:
    views = []
    for event, hook in template.hooks_of(CONTAINER_HOOK_EVENTS):
        how = (
            _how(book, container_key(template.name, event), _container_gate(hook))
            if template.from_repository
            else template.origin
        )
        views.append(ContainerHookView(template, event, hook, how))
    return views


def container_hooks(project: Project) -> HookCheck:
    """The check that ``workspace create``/``up`` (CLI, MCP, fleet) give the domain functions:
    a repository template's container hooks of the events about to run must each be approved
    (:class:`GateNeedsApprovalError`, exit 5, before anything is made or started)."""

    def check(template: Template, events: Sequence[str]) -> None:
        if not template.from_repository or not template.hooks_of(events):
            return  # no approvals read for a template whose hooks need none
        book = approvals.Book(project)
        waiting = [
            (v.event, v.hook)
            for v in _container_views(book, template)
            if v.event in events and v.approval is None
        ]
        if waiting:
            raise hooks_wait(template, waiting)

    return check


@dataclass(frozen=True, slots=True)
class ContainerHooks:
    """The container hooks listed, and the project templates that could not be read (name, why):
    a broken template is left out of the listing, not a reason to refuse it (nor the host hooks'
    approval); a create with it says why."""

    views: list[ContainerHookView]
    unreadable: list[tuple[str, str]]


def container_listing(
    project: Project, template: str | None = None, variables: dict[str, str] | None = None
) -> ContainerHooks:
    """The container hooks of ``template`` (with ``variables``, as a create with those --var
    values runs them), or of every template in the project's ``.nexus/templates/``."""
    book = approvals.Book(project)
    if template is not None:
        loaded = templates.load_template(template, project.root, dict(variables or {}))
        return ContainerHooks(_container_views(book, loaded), [])
    if variables:
        raise UsageError("--var gives a template's variables: name it with --template")
    views: list[ContainerHookView] = []
    unreadable: list[tuple[str, str]] = []
    for name, (origin, _) in sorted(templates.available(project.root).items()):
        if origin != "project":
            continue
        try:
            views += _container_views(book, templates.load_template(name, project.root))
        except NexusError as exc:
            unreadable.append((name, exc.message))
    return ContainerHooks(views, unreadable)


def approve_containers(
    project: Project,
    template: str | None = None,
    variables: dict[str, str] | None = None,
    *,
    ask: Any = _ask_about_hooks,
) -> list[ContainerHookView]:
    """As :func:`approve`, for the waiting container hooks of :func:`container_listing`."""
    listed = container_listing(project, template, variables).views
    waiting = [v for v in listed if v.approval is None]
    if not waiting:
        return []
    lines = [
        f"  {v.template.name} {v.event} in {v.hook.service}: {escape(v.hook.text, newlines=False)}"
        for v in waiting
    ]
    question = (
        "the project's templates (.nexus/templates/) ask to run these commands in their "
        "containers, which have the worktree mounted:\n"
        + "\n".join(lines)
        + "\nApprove them? [y/N] "
    )
    if not ask(question):
        raise UsageError("not approved: nothing changed")
    for key in dict.fromkeys(container_key(v.template.name, v.event) for v in waiting):
        gates = [
            _container_gate(v.hook)
            for v in waiting
            if container_key(v.template.name, v.event) == key
        ]
        approvals.approve(project, key, gates, how="terminal")
    return waiting
