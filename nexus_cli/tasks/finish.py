"""``nexus workspace finish``: gates pass, the branch is merged, the workspace is gone.

In order, stopping at the first step that fails and leaving everything as it was:

1. the worktree has no uncommitted changes (files a template wrote and nobody changed do not
   count), else a list of them;
2. the gates of every task of the workspace (``task.workspace``) that is not cancelled or rejected
   pass, run now in the workspace (their approval rules apply: a gate waiting for a person stops
   here with exit 5);
3. the branch is merged, or rebased and fast-forwarded, into the target (default: the branch of
   the main worktree) by :mod:`nexus_cli.workspaces.integrate` — never half-merged;
4. the workspace is deleted: containers, network, volumes (unless kept), ports, worktree, branch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nexus_cli.errors import ConflictError
from nexus_cli.plural import plural
from nexus_cli.project import Project
from nexus_cli.tasks import workspace_hooks
from nexus_cli.tasks.identity import current_agent
from nexus_cli.tasks.listing import opened
from nexus_cli.tasks.verification import failure
from nexus_cli.tasks.verification import verify as verify_gates
from nexus_cli.telemetry.journal import invocation
from nexus_cli.workspaces import deletion, integrate
from nexus_cli.workspaces.handle import Workspace
from nexus_cli.workspaces.host_hooks import DELETE_EVENTS

SKIPPED_STATUSES = ("cancelled", "rejected")


@dataclass(slots=True)
class FinishResult:
    name: str
    integration: integrate.Integration
    deleted: deletion.DeleteResult
    verified: list[dict[str, Any]] = field(default_factory=list)  # {task, gates} per task

    def to_json(self) -> dict[str, Any]:
        """What ``workspace finish --json`` prints."""
        return {
            "name": self.name,
            "verified": list(self.verified),
            "merge": self.integration.to_json(),
            "deleted": self.deleted.to_json(),
        }


def finish(
    project: Project,
    name: str,
    *,
    into: str | None = None,
    strategy: str = "merge",
    keep_volumes: bool = False,
    agent: str | None = None,
) -> FinishResult:
    workspace = Workspace(project, name)
    record = workspace.record()
    invocation.note(event_type="workspace", workspace=name)
    changes = deletion.uncommitted(workspace, record)
    if changes:
        shown = ", ".join(line[3:] for line in changes[:10])
        more = f" and {len(changes) - 10} more" if len(changes) > 10 else ""
        raise ConflictError(
            f"{name!r} has {plural(len(changes), 'uncommitted change')}: {shown}{more}",
            hint="commit them on the workspace's branch (or discard them), then finish again",
        )
    target = into if into is not None else integrate.default_target(workspace)
    hooks = workspace_hooks.load(project, DELETE_EVENTS)  # one waiting stops us before a merge
    verified = _run_gates(project, name, current_agent(agent))
    merged = integrate.integrate(workspace, target, strategy)
    deleted = deletion.delete(workspace, force=True, keep_volumes=keep_volumes, hooks=hooks)
    invocation.signal("workspace_finished", commits=merged.commits)
    return FinishResult(name, merged, deleted, verified)


def _run_gates(project: Project, name: str, actor: str) -> list[dict[str, Any]]:
    verified: list[dict[str, Any]] = []
    with opened(project) as store:
        for task in store.list_tasks(workspace=name):
            if task.status in SKIPPED_STATUSES or not task.gates:
                continue
            outcome = verify_gates(store, task.id, actor)
            if not outcome.passed:
                error = failure(outcome, moved=False)
                error.message = f"task {task.id} of {name!r}: {error.message}"
                error.hint = "nothing was merged or deleted; " + (error.hint or "")
                raise error
            verified.append({"task": task.id, "gates": len(outcome.results)})
    return verified
