"""Who chose a gate's command: approvals a person gave, kept outside the repository.

A gate runs only when its exact command is approved for its task in this project. An approval is
keyed by the project (the real path of its git folder on this machine), the task and the gate's
hash (its command and where it runs), and lives in the user's own state:
``$NEXUS_HOME/approvals/<project key>.json`` (0600). Nothing committed to a repository, written
into ``.nexus/`` or sent over MCP can approve a command, so an agent that rewrites its gate in
``tasks.jsonl`` (or in ``tasks.db``) gets a gate that waits for a person instead of one that runs.

Approvals are per task: approving ``pytest`` for one task does not let another task's gate be
rewritten to ``pytest`` behind the person's back. Broader trust is the user's to give, in their
own configuration (``$NEXUS_CONFIG_HOME/trust.yaml``, see :func:`trust_rule_for`), like direnv's
``allow`` and Claude Code's permission rules.

Which acts approve (see docs/security.md, "Gates"):

- a task created on the command line: its gates, typed or detected (whoever runs the CLI could
  run those commands anyway);
- ``nexus task gate add`` on the command line with a terminal;
- ``nexus task gate approve``, confirmed by a person on ``/dev/tty`` — never a flag, a pipe, an
  environment variable or an MCP call;
- a trust rule in the user's configuration.

Gates proposed by an agent (MCP, the loop), imported (``git pull``, the merge driver, a
teammate's ``tasks.jsonl``, a committed workflow) or changed after they were approved wait in
``needs approval``.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from nexus_cli import config_yaml, home_state, jsonio, paths
from nexus_cli.errors import GateNeedsApprovalError, NoTerminalError
from nexus_cli.project import Project
from nexus_cli.tasks.model import Gate, Task, now_iso
from nexus_cli.terminal import escape

__all__ = [
    "NO_GATES",
    "Approval",
    "Book",
    "GateNeedsApprovalError",
    "NoTerminalError",
    "approval_for",
    "approve",
    "ask_person",
    "check_readable",
    "forget",
    "gate_hash",
    "gates_of",
    "needs_approval",
    "pending",
    "previous_commands",
    "project_key",
    "to_approve",
    "trust_rule_for",
]

FORMAT = 1
APPROVALS_DIR = "approvals"
TRUST_FILE = "trust.yaml"
# A trust rule never covers a command that the shell could turn into several commands.
_SHELL_SYNTAX = set(";&|<>`$()\n\r\\{}*?[]~#!")


@dataclass(frozen=True, slots=True)
class Approval:
    """Why a gate may run: ``how`` is ``created`` or ``detected`` (the task was created on the
    command line), ``gate-add`` (added on the command line at a terminal), ``terminal``
    (``nexus task gate approve``) or ``rule`` (a trust rule: ``rule`` names it)."""

    how: str
    at: str | None  # None for a trust rule: it approves whatever it covers, whenever
    rule: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"how": self.how, "at": self.at}
        if self.rule is not None:
            data["rule"] = self.rule
        return data


def gate_hash(gate: Gate) -> str:
    """The identity of what a gate runs: its command and the service it runs in (hex SHA-256).

    The timeout is not part of it: changing how long a command may run changes nothing it does.
    """
    canonical = jsonio.dumps({"command": gate.command, "service": gate.service}, sort_keys=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def project_key(project: Project) -> str:
    """This project on this machine (:meth:`~nexus_cli.project.Project.machine_key`)."""
    return project.machine_key()


READ_HINT = "move the file aside: every gate will then ask for approval again"


def _store_path(project: Project) -> str:
    return home_state.document_path(APPROVALS_DIR, project_key(project))


def _read(project: Project) -> dict[str, dict[str, dict[str, Any]]]:
    """task id -> gate hash -> approval record; a missing file is no approvals."""
    return _typed(
        home_state.read(
            APPROVALS_DIR, project_key(project), "tasks", what="gate approvals", hint=READ_HINT
        )
    )


def _typed(tasks: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    return {
        str(task_id): {str(h): dict(rec) for h, rec in gates.items() if isinstance(rec, dict)}
        for task_id, gates in tasks.items()
        if isinstance(gates, dict)
    }


# What a task created with --no-gates "runs": nothing. Approved like a gate, so that an edit of
# tasks.jsonl that swaps a task's gates for ``no_gates: true`` waits for a person too. It is a
# shell comment (running it would do nothing) that no trust rule can match (``#``).
NO_GATES = Gate("# no gates: the task completes without running any check")


def gates_of(task: Task) -> list[Gate]:
    """What completing ``task`` runs: its command gates, or :data:`NO_GATES` for a task that
    runs none (created with ``--no-gates``, or whose only gates wait: for a person, a time or
    a task, :mod:`nexus_cli.tasks.waits`). Waiting gates run nothing, so they need no approval
    here; a task whose commands are swapped for waiting gates waits for a person like one
    whose gates are swapped for ``no_gates``."""
    commands = [g for g in task.gates if g.wait is None]
    if commands:
        return commands
    return [NO_GATES] if task.no_gates or task.gates else []


def to_approve(task: Task, added: Iterable[Gate]) -> list[Gate]:
    """What a person's act that added ``added`` to ``task`` approves: the new command gates,
    and :data:`NO_GATES` when the task now runs no command (its gates all wait)."""
    added = list(added)
    found = [g for g in added if g.wait is None]
    if any(g.wait is not None for g in added) and gates_of(task) == [NO_GATES]:
        found.append(NO_GATES)
    return found


class Book:
    """The approvals and trust rules of one project, read once (for checking many gates)."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.approved = _read(project)
        self.root = os.path.realpath(project.root)
        self._rules: list[tuple[str, list[str]]] | None = None

    @property
    def rules(self) -> list[tuple[str, list[str]]]:
        """The user's trust rules, read when a gate without a person's approval first needs
        them: a gate a person approved needs none (and the agents' hooks, which check every
        end of a turn, then need not find the user's config folder)."""
        if self._rules is None:
            self._rules = _rules()
        return self._rules

    def approval_for(self, task_id: str, gate: Gate) -> Approval | None:
        """Why ``gate`` of task ``task_id`` may run, or None when a person must approve it.
        A waiting gate runs nothing: it needs no approval (``how: waits``)."""
        if gate.wait is not None:
            return Approval(how="waits", at=None)
        record = self.approved.get(task_id, {}).get(gate_hash(gate))
        if record is not None and record.get("command") == gate.command:
            how, at = str(record.get("how") or "terminal"), record.get("at")
            return Approval(how=how, at=str(at) if at else None)
        rule = _matching_rule(self.rules, self.root, gate)
        return None if rule is None else Approval(how="rule", at=None, rule=rule)

    def pending(self, task: Task) -> list[Gate]:
        """The gates of ``task`` that wait for a person's approval (in order)."""
        return [g for g in gates_of(task) if self.approval_for(task.id, g) is None]


def approval_for(project: Project, task_id: str, gate: Gate) -> Approval | None:
    """Why ``gate`` of task ``task_id`` may run, or None when a person must approve it first."""
    return Book(project).approval_for(task_id, gate)


def pending(project: Project, task: Task) -> list[Gate]:
    """The gates of ``task`` that wait for a person's approval (in order)."""
    return Book(project).pending(task) if gates_of(task) else []


def needs_approval(task: Task, waiting: Sequence[Gate]) -> GateNeedsApprovalError:
    """The exit-5 error for ``task`` whose ``waiting`` gates nobody approved: nothing ran."""
    commands = ", ".join(f"`{escape(g.command, newlines=False)}`" for g in waiting)
    return GateNeedsApprovalError(
        f"task {task.id}: nothing ran; its gate {commands} waits for a person's approval"
        if len(waiting) == 1
        else f"task {task.id}: nothing ran; its gates {commands} wait for a person's approval",
        hint=f"a person must approve it: nexus task gate approve {task.id}",
    )


@contextlib.contextmanager
def _updating(project: Project) -> Iterator[dict[str, dict[str, dict[str, Any]]]]:
    """The approvals, locked; what the block leaves in the mapping is written back atomically."""
    header = {"format": FORMAT, "project": os.path.realpath(project.root)}
    with home_state.updating(
        APPROVALS_DIR,
        project_key(project),
        "tasks",
        what="gate approvals",
        hint=READ_HINT,
        header=header,
    ) as stored:
        tasks = _typed(stored)
        yield tasks
        stored.clear()
        stored.update(tasks)


def check_readable(project: Project) -> None:
    """Raise the store's own error when the approvals cannot be read (damaged by hand): asked
    before an act that approves what it makes, so that it fails with nothing made."""
    _read(project)


def approve(project: Project, task_id: str, gates: Iterable[Gate], *, how: str) -> None:
    """Record that a person approved ``gates`` for ``task_id`` (called only by the acts listed
    in the module docstring: the caller is the one place that decides a person chose them)."""
    gates = list(gates)
    if not gates:
        return
    at = now_iso()
    with _updating(project) as tasks:
        entry = tasks.setdefault(task_id, {})
        for gate in gates:
            entry[gate_hash(gate)] = {
                "command": gate.command,
                "service": gate.service,
                "how": how,
                "at": at,
            }


def forget(project: Project, task_ids: Sequence[str]) -> None:
    """Drop the approvals of tasks that no longer exist."""
    if not os.path.exists(_store_path(project)):
        return
    with _updating(project) as tasks:
        for task_id in task_ids:
            tasks.pop(task_id, None)


def previous_commands(project: Project, task_id: str) -> list[str]:
    """The commands approved for ``task_id`` before (for the diff a person reviews)."""
    return sorted({str(r.get("command")) for r in _read(project).get(task_id, {}).values()})


# --- trust rules: the user's own configuration, never the repository's -----------------------


def trust_path() -> str:
    return os.path.join(os.fspath(paths.user_config_dir()), TRUST_FILE)


def _rules() -> list[tuple[str, list[str]]]:
    """``(project root or "*", command patterns)`` from the user's ``trust.yaml``."""
    path = trust_path()
    if not os.path.isfile(path):
        return []
    data = config_yaml.load_yaml_mapping(path, what="gate trust rules")
    rules = data.get("rules", [])
    if not isinstance(rules, list):
        raise config_yaml.key_error(path, "rules", "must be a list of {project, commands}")
    found = []
    for index, rule in enumerate(rules):
        where = f"rules[{index}]"
        if not isinstance(rule, dict) or not isinstance(rule.get("project"), str):
            raise config_yaml.key_error(path, where, "needs `project` (a folder, or '*')")
        commands = rule.get("commands")
        if not isinstance(commands, list) or not all(isinstance(c, str) for c in commands):
            raise config_yaml.key_error(path, f"{where}.commands", "must be a list of strings")
        project = rule["project"]
        if project != "*":
            project = os.path.realpath(os.path.expanduser(project))
        found.append((project, list(commands)))
    return found


def trust_rule_for(project: Project, gate: Gate) -> str | None:
    """The user's trust rule that covers ``gate`` in ``project`` (``"PROJECT: PATTERN"``), if any.

    A pattern is matched with :func:`fnmatch.fnmatchcase` against the whole command (``*`` in a
    pattern stands for any arguments), and only a plain command can match: one without shell
    syntax (``;``, ``&&``, ``|``, redirections, substitutions, globs), so ``pytest *`` covers
    ``pytest -q tests/`` but never ``pytest; curl … | sh``.
    """
    return _matching_rule(_rules(), os.path.realpath(project.root), gate)


def _matching_rule(rules: list[tuple[str, list[str]]], root: str, gate: Gate) -> str | None:
    if any(ch in _SHELL_SYNTAX for ch in gate.command):
        return None
    for where, patterns in rules:
        if where not in ("*", root):
            continue
        for pattern in patterns:
            if fnmatch.fnmatchcase(gate.command.strip(), pattern.strip()):
                return f"{where}: {pattern}"
    return None


# --- asking a person --------------------------------------------------------------------------


def ask_person(
    question: str, *, what: str = "a gate", command: str = "nexus task gate approve"
) -> bool:
    """Ask ``question`` on the controlling terminal (``/dev/tty``) and read the answer from it.

    Standard input and output are deliberately not used: a pipe, ``yes |``, a flag or an
    environment variable cannot answer, so a program without a terminal of its own (an agent's
    shell tool, an MCP server, CI) cannot approve. True only for ``y`` or ``yes``. ``what`` and
    ``command`` name what is approved, and how, when there is no terminal.
    """
    try:
        tty = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        raise NoTerminalError(
            f"approving {what} needs a person at a terminal, and this process has none",
            hint=f"run `{command}` yourself, in a terminal",
        ) from None
    # A terminal cannot seek, so it is written through the descriptor and read as text.
    with os.fdopen(tty, "r", encoding="utf-8", errors="replace") as fh:
        os.write(tty, question.encode("utf-8", "replace"))
        answer = fh.readline()
    return answer.strip().lower() in ("y", "yes")
