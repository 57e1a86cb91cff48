"""Receipts: what every passing gate run leaves in its task's history, for anyone to check.

A receipt is stored in the ``gate_run`` history entry of a run that passed (``complete`` and
``verify`` alike), so it travels with ``tasks.jsonl`` through git. It records:

- ``command_sha256``: :func:`nexus_cli.tasks.approvals.gate_hash` of the gate (command and
  service);
- ``tree``: the git tree id of the gate's folder when the gates had run — tracked and untracked
  files that are not ignored, ``.nexus/`` left out — written with a temporary index, and
  ``head``, the commit checked out there;
- ``where``: the host (a hash, as in the verifying transition), the folder relative to the
  project root, and for a gate run in a service the container's image id and digests;
- ``exit_code``, ``duration_ms``, ``output_tail`` and ``output_sha256`` (of that tail);
- ``approved``: why the gate was allowed to run (:class:`~nexus_cli.tasks.approvals.Approval`),
  or null when no approval was found;
- ``task``, ``at`` (one time for every receipt of one verification), ``run`` (``gate``: its
  position, ``gates``: how many gates that verification ran) and ``format``;
- ``signer`` and ``signature`` when the user has a git signing key (:mod:`.signatures`), else
  ``signature_error`` when signing failed.

Making a receipt never fails a gate: a step that fails leaves its reason in the receipt.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nexus_cli import engine, git, git_trees
from nexus_cli.errors import NexusError, NotFoundError
from nexus_cli.project import NEXUS_DIR, Project
from nexus_cli.tasks import approvals, loading, signatures
from nexus_cli.tasks.gate_runs import Run, last_passing_run
from nexus_cli.tasks.gates import GateResult
from nexus_cli.tasks.listing import opened
from nexus_cli.tasks.model import Gate, Task, now_iso
from nexus_cli.tasks.workdir import gate_directory
from nexus_cli.workspaces.handle import Workspace

FORMAT = 1


def output_hash(tail: str) -> str:
    return hashlib.sha256(tail.encode("utf-8")).hexdigest()


def attach(project: Project, task: Task, results: list[GateResult], *, host: str) -> None:
    """Give every passing result of one verification its receipt (``result.receipt``) and every
    failing one the tree id it ran on (``result.tree``); ``host`` is this machine's tag
    (:func:`nexus_cli.tasks.verification.host_tag`)."""
    cwd = gate_directory(project, task)
    tree = _tree(project, cwd)
    for result in results:  # a failing run keeps the tree it saw: a later pass on the same
        if not result.passed:  # tree is a flaky pass (nexus_cli/tasks/metrics.py)
            result.tree = tree["tree"]
    if not any(r.passed for r in results):
        return
    common: dict[str, Any] = {"format": FORMAT, "task": task.id, "at": now_iso()}
    common.update(tree)
    key, key_error = _signing_key(project.root)  # the repository's config, not a worktree's
    for index, result in enumerate(results):
        if not result.passed:
            continue
        receipt = {
            **common,
            "command_sha256": approvals.gate_hash(result.gate),
            "where": _where(project, task, result.gate, cwd, host),
            "exit_code": result.exit_code,
            "duration_ms": result.duration_ms,
            "output_tail": result.output_tail,
            "output_sha256": output_hash(result.output_tail),
            "approved": _approved(project, task, result.gate),
            "run": {"gate": index, "gates": len(results)},
        }
        _sign(receipt, key, key_error)
        result.receipt = receipt


def _tree(project: Project, cwd: Path) -> dict[str, Any]:
    try:  # the git dir comes from the repository, never from a worktree's own .git file
        checkout = git.checkout_of(project.git_common_dir, cwd)
        return {
            "tree": git_trees.worktree_tree(cwd, exclude=NEXUS_DIR, checkout=checkout),
            "head": git.head_commit(cwd, checkout),
        }
    except NexusError as exc:
        return {"tree": None, "head": None, "tree_error": exc.message}


def _where(project: Project, task: Task, gate: Gate, cwd: Path, host: str) -> dict[str, Any]:
    where: dict[str, Any] = {
        "host": host,
        "dir": Path(os.path.relpath(cwd, project.root)).as_posix(),
    }
    if gate.service:
        where["service"] = gate.service
        where["image"] = _image(project, task, gate)
    return where


def _image(project: Project, task: Task, gate: Gate) -> dict[str, Any] | None:
    """The image of the container the gate ran in (found as the gate found it), if still there."""
    if not task.workspace or not gate.service:
        return None
    try:
        workspace = Workspace(project, task.workspace, source=f"task {task.id}")
        client = engine.connect()
        labels = workspace.label_filters(gate.service)
        found = client.containers.list(filters={"label": labels, "status": "running"})
        if not found:
            return None
        image = found[0].image
        if image is None:
            return None
        attrs = image.attrs
        return {"id": str(attrs.get("Id")), "digests": sorted(attrs.get("RepoDigests") or [])}
    except Exception:  # the engine went away or answered oddly: the receipt says no image
        return None


def _approved(project: Project, task: Task, gate: Gate) -> dict[str, Any] | None:
    try:
        approval = approvals.approval_for(project, task.id, gate)
    except NexusError:
        return None
    if approval is None:
        return None
    data = approval.to_dict()
    data["at"] = data.get("at") or None  # a trust rule has no time
    return data


def _signing_key(cwd: Path) -> tuple[signatures.SigningKey | None, str | None]:
    try:
        return signatures.configured_key(cwd), None
    except NexusError as exc:
        return None, exc.message


def _sign(receipt: dict[str, Any], key: signatures.SigningKey | None, error: str | None) -> None:
    if error is not None:
        receipt["signature_error"] = error
    if key is None:
        return
    try:
        receipt["signer"] = key.signer()
        receipt["signature"] = signatures.sign(key, signatures.canonical(receipt))
    except (NexusError, OSError) as exc:
        receipt.pop("signer", None)
        receipt["signature_error"] = exc.message if isinstance(exc, NexusError) else str(exc)


# --- reading receipts back -------------------------------------------------------------------


@dataclass(frozen=True)
class TaskReceipts:
    """``nexus task receipt ID``: the receipts of the task's last passing verification."""

    task: Task
    run: Run

    def to_json(self) -> dict[str, Any]:
        return {
            "task": self.task.id,
            "status": self.task.status,
            "purpose": self.run.purpose,
            "at": self.run.at,
            "receipts": [
                {"command": str(e.get("command") or ""), **e["receipt"]} for e in self.run.entries
            ],
        }


def receipts_of(project: Project, ref: str) -> TaskReceipts:
    """The receipts of the last verification of task ``ref`` in which every gate passed."""
    with opened(project) as store:
        task = loading.load(store, ref)
    run = last_passing_run(task)
    if run is None:
        raise NotFoundError(
            f"task {task.id} has no receipts: no verification of it has passed yet",
            hint=f"`nexus task verify {task.id}` or `nexus task complete {task.id}`",
        )
    return TaskReceipts(task, run)
