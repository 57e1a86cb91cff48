"""`nexus task`: tasks with verification gates that cannot be skipped, shared through git.

Each subcommand's module is imported only when that subcommand runs (:mod:`nexus_cli.lazy`), so
`task ready` and `task list` (a hot path) load the listing, not the lifecycle, the changes or the
gates.
"""

from __future__ import annotations

import click

from nexus_cli.lazy import NexusGroup
from nexus_cli.telemetry.journal import invocation

_CHANGES = "nexus_cli.commands.task_changes"
_EDIT = "nexus_cli.commands.task_edit"
_GATES = "nexus_cli.commands.task_gates"
_LISTING = "nexus_cli.commands.task_listing"
_QUERIES = "nexus_cli.commands.task_queries"
_SEARCH = "nexus_cli.commands.task_search"

# name -> ("module:attribute", short help: the command's, which tests check). Keep sorted.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "approve": (f"{_CHANGES}:approve", "Approve a task in review: it becomes done."),
    "assign": (f"{_CHANGES}:assign", "Assign a task to AGENT (an empty string unassigns)."),
    "blocked": (
        f"{_QUERIES}:blocked",
        "Unfinished tasks waiting on unfinished dependencies or on waiting gates.",
    ),
    "cancel": (f"{_CHANGES}:cancel", "Cancel a task."),
    "check-receipts": (
        "nexus_cli.commands.task_receipts:check_receipts",
        "Re-verify offline that every done or review task has receipts for its gates.",
    ),
    "claim": (
        f"{_CHANGES}:claim",
        "Atomically take an open task: of many simultaneous claims exactly one wins.",
    ),
    "compact": (
        "nexus_cli.commands.task_compact:compact",
        "Summarise done and cancelled tasks closed long ago into one short line each.",
    ),
    "complete": (
        f"{_GATES}:complete",
        "Run every gate; only if all pass does the task become done (or review).",
    ),
    "context": (
        "nexus_cli.commands.task_context:context",
        "Print a Markdown hand-off: goal, gates, last gate output, rejections, notes, related "
        "tasks.",
    ),
    "create": (f"{_CHANGES}:create", "Create a task."),
    "defer": (f"{_EDIT}:defer", "Keep a task out of `task ready` until a date."),
    "dep": (f"{_CHANGES}:dep", "Add or remove dependencies (cycles are refused)."),
    "duplicates": (
        f"{_SEARCH}:duplicates",
        "Pairs of unfinished tasks whose titles look alike, most alike first.",
    ),
    "edit": (
        f"{_EDIT}:edit",
        "Change a task's title, description, priority, labels, dependencies, parent or gates.",
    ),
    "gate": (
        f"{_GATES}:gate",
        "Add verification gates to a task, list them, approve the ones that wait.",
    ),
    "history": (
        "nexus_cli.commands.task_history:history",
        "Every transition, gate run and change, with who, when and why.",
    ),
    "import": (
        "nexus_cli.commands.task_import:import_",
        "Import tasks from a beads JSONL export or a `gh issue list --json` file.",
    ),
    "list": (f"{_LISTING}:list_", "List tasks by priority, then age."),
    "note": (f"{_CHANGES}:note", "Add a note to a task."),
    "ready": (
        f"{_LISTING}:ready",
        "Open tasks with no unfinished dependency, unassigned or yours, by priority then age.",
    ),
    "reclaim": (
        f"{_CHANGES}:reclaim",
        "Take back a claimed task whose lease expired: it becomes open again.",
    ),
    "receipt": (
        "nexus_cli.commands.task_receipts:receipt",
        "Print the receipts of the task's last passing verification.",
    ),
    "reject": (f"{_CHANGES}:reject", "Send a task in review (or done) back to work."),
    "reopen": (f"{_CHANGES}:reopen", "Reopen a done, cancelled, rejected or in-progress task."),
    "search": (
        f"{_SEARCH}:search",
        "Tasks whose title, description or notes hold every word of TEXT, best match first.",
    ),
    "show": (f"{_QUERIES}:show", "Show one task (any unique ID prefix works)."),
    "split": (
        f"{_EDIT}:split",
        "Turn a task into an epic: one subtask per title, each with the task's gates.",
    ),
    "start": (f"{_CHANGES}:start", "Start working on a task (assigns it to you)."),
    "verify": (
        f"{_GATES}:verify",
        "Run the gates without changing the task's status (exit 3 if one fails).",
    ),
}
HIDDEN = {"merge-driver": "nexus_cli.commands.task_merge:merge_driver"}


@click.group(
    cls=NexusGroup,
    lazy_subcommands=SUBCOMMANDS,
    shorten_lazy_help=True,
    hidden_lazy_subcommands=HIDDEN,
)
def task() -> None:
    """Track tasks whose verification gates must pass before they are done.

    Tasks live in .nexus/tasks.db (local) and .nexus/tasks.jsonl (commit it to share).
    """
    invocation.note(event_type="task")
