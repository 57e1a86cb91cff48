"""Who chose a gate's command, as the task's history tells it.

Every entry that sets a task's gates carries ``via``: how the command arrived.

- ``cli``: typed on the command line (``nexus task create --gate``, ``nexus task gate add``);
- ``detected``: the project's own test command, found when a person created the task;
- ``agent``: proposed by an agent over MCP;
- ``workflow``: written in a committed workflow file (``nexus workflow run``);
- ``import``: found changed in ``.nexus/tasks.jsonl`` (``git pull``, the merge driver, a
  teammate's commit, an agent or a person editing the file).

The history is a record, not a permission: it lives in ``tasks.jsonl``, which anyone can edit.
What may run is decided by :mod:`nexus_cli.tasks.approvals` alone.
"""

from __future__ import annotations

from typing import Any

from nexus_cli import jsonio
from nexus_cli.caller import Caller
from nexus_cli.tasks.model import Gate, Task, now_iso

VIA_CLI = "cli"
VIA_DETECTED = "detected"
VIA_AGENT = "agent"
VIA_WORKFLOW = "workflow"
VIA_IMPORT = "import"
# The history actions that set or change a task's gates.
GATE_ACTIONS = ("created", "gate_added", "gates_changed")
# Who an import entry is by: nobody this process can name (the file changed under it).
IMPORTER = "nexus (import)"


def via_for(caller: Caller, *, detected: bool = False) -> str:
    """How the gates of a task created by ``caller`` arrived."""
    if caller is Caller.AGENT:
        return VIA_AGENT
    return VIA_DETECTED if detected else VIA_CLI


def record_imported_changes(before: dict[str, tuple[str, str]], tasks: list[Task]) -> list[str]:
    """Append to each of ``tasks`` what an import changed that its own history does not tell
    (``before``: task id -> the JSON list of the gates and the status the database had):

    - a ``gates_changed`` entry (``via: import``, old and new commands) when its gates differ;
    - a ``transition`` entry (``via: import``) when its status differs and the file's history
      does not end with that move: a status written into the file by hand (an agent marking its
      own task done) shows in ``nexus task history`` as what it is, not as a verified move.

    A task the database did not have gets none: its gates were never approved here, so they
    wait anyway. Returns the ids of the tasks changed.
    """
    changed = []
    for task in tasks:
        known = before.get(task.id)
        if known is None:
            continue
        text, status = known
        old = [Gate.from_dict(g) for g in jsonio.loads(text)]
        entries: list[dict[str, Any]] = []
        if old != task.gates:
            entries.append(
                {
                    "action": "gates_changed",
                    "via": VIA_IMPORT,
                    "from": [g.command for g in old],
                    "to": [g.command for g in task.gates],
                }
            )
        if status != task.status and not _told(task):
            entries.append(
                {"action": "transition", "via": VIA_IMPORT, "from": status, "to": task.status}
            )
        if not entries:
            continue
        at = now_iso()
        task.history.extend({"at": at, "by": IMPORTER, **entry} for entry in entries)
        task.updated_at = max(task.updated_at, at)
        changed.append(task.id)
    return changed


def _told(task: Task) -> bool:
    """Whether ``task``'s history explains its status: its last transition leads there (a
    teammate's Nexus records every move it makes)."""
    moves = [e for e in task.history if e.get("action") == "transition"]
    return bool(moves) and moves[-1].get("to") == task.status


def gate_changes(task: Task) -> list[dict[str, Any]]:
    """The history entries that set or changed ``task``'s gates, oldest first."""
    return [e for e in task.history if e.get("action") in GATE_ACTIONS]


def describe(entry: dict[str, Any]) -> str:
    """One line for a person: when, who, how, and what an entry did to the gates."""
    when = str(entry.get("at", ""))[:19].replace("T", " ")
    via = entry.get("via") or "unknown (made before gates recorded how they arrived)"
    action = entry.get("action")
    what = {"created": "created the task", "gate_added": "added a gate"}.get(
        str(action), "changed the gates"
    )
    if action == "gate_added":
        what += f" `{entry.get('command')}`"
    elif action == "gates_changed":
        old = ", ".join(f"`{c}`" for c in entry.get("from") or []) or "none"
        new = ", ".join(f"`{c}`" for c in entry.get("to") or []) or "none"
        what += f" from {old} to {new}"
    return f"{when}  {entry.get('by')} {what} (via {via})"
