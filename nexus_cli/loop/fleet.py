"""`nexus fleet run`: several agents at once, each task in its own workspace, merged through the queue.

The fleet takes ready tasks (dependencies done, none of them still to be merged; gates present,
none waiting for approval), at most ``agents`` at a time. For each it creates a workspace (the
template from ``--template``, default ``bare``) from the target branch, those it needs at one time
together in this process (:func:`nexus_cli.workspaces.batch.create_many`: one start-up and Docker
SDK import for all, the waits on git and the engine overlapped), records the workspace on the task,
and starts ``nexus loop --task ID`` in that worktree as a child in its own process group, with
``NEXUS_TASK_ID``, the workspace's ports and service addresses in its environment (the loop adds
its guard rails, leases and history). When a child ends with the task done, the task enters the
merge queue (:mod:`nexus_cli.tasks.merge_queue`) and the queue runs at once: the gates run again on
the combined tree before the target moves. A merged task's workspace is deleted; a task sent back
keeps its branch for the next attempt. A child that died with its task still claimed is waited for
until the lease expires, then the task is reclaimed and started again (at most ``attempts`` times
per task in one run).

Ctrl-C or SIGTERM: every child's process group is ended, each task still claimed is released
(back to ``open``, with a note), its workspace kept with the work in it; a workspace is only ever
created whole (:func:`nexus_cli.workspaces.creation.create` rolls back a create cut short, and a
batch waits for each create in flight to finish or be undone before it stops). A workspace made
whole but not yet given an agent stays, and is used by the task's next start.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nexus_cli import git, owner, ownership, proc, validate
from nexus_cli.errors import NexusError
from nexus_cli.loop import fleet_state, pick
from nexus_cli.project import Project
from nexus_cli.tasks import (
    actions,
    approvals,
    lease,
    lifecycle,
    loading,
    merge_queue,
    merge_run,
    workspace_hooks,
)
from nexus_cli.tasks.listing import opened
from nexus_cli.tasks.model import Task, now_iso
from nexus_cli.tasks.store import TaskStore
from nexus_cli.telemetry.journal import invocation, recorder
from nexus_cli.workspaces import batch, deletion, host_ports
from nexus_cli.workspaces.handle import Workspace
from nexus_cli.workspaces.host_hooks import CREATE_EVENTS, DELETE_EVENTS

POLL_S = 0.2
TEMPLATE_LABEL = "template:"  # a task's label naming its workspace template
READY_WINDOW = 50


@dataclass(frozen=True)
class FleetOptions:
    agent: str  # the agent command line each loop runs
    actor: str  # who the fleet is; agent N is "<actor>-N"
    agents: int = 2
    template: str = "bare"
    target: str | None = None
    max_iterations: int = 10
    iteration_timeout_s: float | None = None
    lease_s: int | None = None
    attempts: int = 2  # starts of one task in one run (a killed agent's task is started again)


@dataclass
class Running:
    task: str
    workspace: str
    slot: int
    child: Any  # the child's Popen handle (from proc.spawn_child)
    started: float = field(default_factory=time.time)
    started_at: str = field(default_factory=now_iso)  # as the task's notes write times


@dataclass
class FleetResult:
    merged: list[str] = field(default_factory=list)
    sent_back: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)  # the loop stopped with the task unfinished
    interrupted: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "merged": self.merged,
            "sent_back": self.sent_back,
            "stopped": self.stopped,
            "interrupted": self.interrupted,
        }


Reporter = Callable[[str], None]


def run_fleet(project: Project, opts: FleetOptions, say: Reporter) -> FleetResult:
    """Run the fleet until nothing is ready, running or waiting for a lease to expire."""
    target = opts.target or merge_queue.default_target(project)
    fleet = _Fleet(project, opts, target, say)
    with ownership.operation() as me:
        try:
            fleet.run(me)
        except KeyboardInterrupt:
            fleet.result.interrupted = True
            fleet.stop_all()
            raise
        finally:
            fleet_state.finish(project)
    return fleet.result


class _Fleet:
    def __init__(self, project: Project, opts: FleetOptions, target: str, say: Reporter) -> None:
        self.project, self.opts, self.target, self.say = project, opts, target, say
        self.running: dict[str, Running] = {}
        self.starts: dict[str, int] = {}
        self.orphans: set[str] = set()  # their agent died with the task claimed: wait for expiry
        self.hinted: set[str] = set()  # the hints of failed creates said so far
        self.result = FleetResult()

    def run(self, me: owner.Owner) -> None:
        fleet_state.begin(self.project, self.target, self.opts.agents, me)
        while True:
            self._fill()
            if not self.running and not self.orphans:
                return
            time.sleep(POLL_S)
            for task_id, agent in list(self.running.items()):
                code = agent.child.poll()
                if code is not None:
                    del self.running[task_id]
                    self._finished(agent, code)
            self._save()

    # --- starting ------------------------------------------------------------------------------

    def _fill(self) -> None:
        with opened(self.project) as store:
            reclaimed = pick.reclaim_expired(store, self.opts.actor)
            for task_id in reclaimed:
                self._event(task_id, "reclaimed")
            self.orphans -= set(reclaimed)
            self.orphans = {t for t in self.orphans if _claimed(store.get(t))}
            candidates = self._candidates(store)
        free = self.opts.agents - len(self.running)
        if free > 0 and candidates:
            self._start_all(candidates[:free])

    def _candidates(self, store: TaskStore) -> list[Task]:
        """The ready tasks the fleet may start: with gates, none waiting for approval, not
        running, started fewer than ``attempts`` times, and no dependency merely done. A task is
        done once its gates pass in its workspace, before it is merged: one whose loop has not
        exited yet, or that waits in the merge queue, is not on the target yet, and a task
        started from the target then would miss its work."""
        book = approvals.Book(self.project)
        ready = [
            t
            for t in store.ready(self.opts.actor, READY_WINDOW)
            if t.gates
            and not book.pending(t)
            and t.id not in self.running
            and self.starts.get(t.id, 0) < self.opts.attempts
        ]
        if not any(t.depends_on for t in ready):
            return ready
        unmerged = set(self.running) | {e.task for e in merge_queue.read(self.project).entries}
        return [t for t in ready if unmerged.isdisjoint(t.depends_on)]

    def _start_all(self, tasks: list[Task]) -> None:
        """Start an agent on each task in its workspace. The workspaces missing are created
        together, in one batch (:func:`batch.create_many`); each agent starts as soon as its
        own workspace is ready."""
        wanted: dict[str, tuple[Task, batch.Request]] = {}
        for task in tasks:
            self.starts[task.id] = self.starts.get(task.id, 0) + 1
            workspace = Workspace(self.project, _workspace_name(task.id))
            if workspace.existing_worktree() is not None:
                self._start(task, workspace)
                continue
            # A task sent back by the queue kept its branch: the next attempt continues on it.
            kept = git.branch_exists(self.project.root, workspace.branch)
            request = batch.Request(
                workspace.name,
                template_name=template_of(task, self.opts.template),
                from_ref=None if kept else self.target,
            )
            wanted[workspace.name] = (task, request)

        def made(outcome: batch.Outcome) -> None:
            task = wanted[outcome.name][0]
            if outcome.created:
                self._start(task, Workspace(self.project, outcome.name))
                return
            # Nothing of it is left (each create is all or nothing); while the fleet runs on
            # (other agents busy), it is tried again, up to ``attempts`` starts.
            if task.id not in self.result.stopped:
                self.result.stopped.append(task.id)
            why = outcome.error.message if outcome.error is not None else "not started"
            self._event(task.id, "workspace_failed", error=why)  # the reason, with --json too
            self.say(f"{task.id}: workspace {outcome.name} not created: {why}")
            hint = outcome.error.hint if outcome.error is not None else None
            if hint and hint not in self.hinted:  # once each (say, the command approving hooks)
                self.hinted.add(hint)
                self.say(f"hint: {hint}")

        if wanted:
            batch.create_many(
                self.project,
                [request for _, request in wanted.values()],
                hooks=workspace_hooks.load(self.project, CREATE_EVENTS),
                container_hooks=workspace_hooks.container_hooks(self.project),
                on_done=made,
            )

    def _start(self, task: Task, workspace: Workspace) -> None:
        slot = next(n for n in range(1, self.opts.agents + 1) if n not in self._slots())
        name = workspace.name
        _assign_workspace(self.project, task.id, name, self.opts.actor)
        env = _agent_env(workspace, task.id, f"{self.opts.actor}-{slot}")
        log = self.project.state_dir / "fleet" / f"{task.id}-{self.starts[task.id]}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
        try:
            child = proc.spawn_child(
                self._loop_argv(task.id), cwd=workspace.worktree, env=env, log_fd=fd
            )
        finally:
            os.close(fd)
        self.running[task.id] = Running(task.id, name, slot, child)
        self._event(task.id, "agent_started", workspace=name, agent=slot)
        self.say(f"agent {slot}: {task.id} in workspace {name}")
        self._save()

    def _loop_argv(self, task_id: str) -> list[str]:
        argv = [sys.executable, "-m", "nexus_cli", "loop", "--task", task_id]
        argv += ["--agent", self.opts.agent, "--max-iterations", str(self.opts.max_iterations)]
        if self.opts.iteration_timeout_s is not None:
            argv += ["--iteration-timeout", f"{self.opts.iteration_timeout_s:g}"]
        if self.opts.lease_s is not None:
            argv += ["--lease", str(self.opts.lease_s)]
        return argv

    def _slots(self) -> set[int]:
        return {a.slot for a in self.running.values()}

    # --- finishing -----------------------------------------------------------------------------

    def _finished(self, agent: Running, code: int) -> None:
        with opened(self.project) as store:
            task = store.get(agent.task)
        status = task.status if task is not None else "missing"
        self._event(agent.task, "agent_finished", exit_code=code, status=status)
        stopped = None if task is None else pick.stopped_since(task, agent.started_at)
        if status in merge_queue.QUEUED_STATUSES:
            self._merge(agent)
        elif _claimed(task) and stopped is not None:  # the loop gave up, as by hand: no restart
            self.result.stopped.append(agent.task)
            self.say(
                f"agent {agent.slot}: {agent.task} stopped: {stopped} (it stays claimed, its work "
                f"in workspace {agent.workspace}; see `nexus task show {agent.task}`)"
            )
        elif _claimed(task):
            self.orphans.add(agent.task)  # killed: its lease expires, then it is reclaimed
            self.say(f"agent {agent.slot}: {agent.task} ended (exit {code}); waiting for its lease")
        else:
            self.result.stopped.append(agent.task)
            self.say(f"agent {agent.slot}: {agent.task} stopped ({status}, exit {code})")

    def _merge(self, agent: Running) -> None:
        try:
            merge_queue.add(
                self.project,
                agent.task,
                branch=agent.workspace,
                target=self.target,
                agent=self.opts.actor,
            )
        except NexusError as exc:
            self.say(f"{agent.task}: not queued: {exc.message}")
            self.result.stopped.append(agent.task)
            return
        run = merge_run.run_queue(self.project, agent=self.opts.actor)
        for outcome in run.outcomes:
            self._event(outcome.task, "merge_" + outcome.outcome)
            workspace = Workspace(self.project, _workspace_name(outcome.task))
            if outcome.outcome == "merged":
                self.result.merged.append(outcome.task)
                self.say(f"{outcome.task}: merged into {self.target}")
                self._delete(workspace, keep_branch=False)
            elif outcome.outcome in ("conflict", "gate_failed"):
                self.result.sent_back.append(outcome.task)
                self.say(f"{outcome.task}: sent back ({outcome.outcome})")
                self._delete(workspace, keep_branch=True)

    def _delete(self, workspace: Workspace, *, keep_branch: bool) -> None:
        if workspace.existing_worktree() is None:
            return
        try:
            deletion.delete(
                workspace,
                force=True,
                keep_branch=keep_branch,
                hooks=workspace_hooks.load(self.project, DELETE_EVENTS),
            )
        except NexusError as exc:
            self.say(f"workspace {workspace.name} kept: {exc.message}")

    def stop_all(self) -> None:
        """End every agent's process group; release each task still claimed, with a note."""
        for agent in self.running.values():
            proc.kill_group(agent.child.pid)
            agent.child.wait()
        for agent in self.running.values():
            with opened(self.project) as store:
                task = store.get(agent.task)
            if _claimed(task):
                text = f"nexus fleet stopped; the work so far is in workspace {agent.workspace}"
                actions.change(self.project, agent.task, "note", agent=self.opts.actor, text=text)
                with contextlib.suppress(NexusError):  # a person changed it meanwhile
                    actions.change(self.project, agent.task, "reopen", agent=self.opts.actor)
            self._event(agent.task, "agent_stopped", workspace=agent.workspace)
        self.running.clear()
        self._save()

    # --- records -------------------------------------------------------------------------------

    def _event(self, task_id: str, what: str, **details: Any) -> None:
        """A transition of the fleet: a task history entry and a telemetry event."""
        event = invocation.Invocation(["fleet"])
        event.command_path = ["fleet", what]  # a fixed name per transition, never user text
        event.fields.update(event_type="loop", task=task_id)
        recorder.record_event(event, 0, 0)
        try:
            with opened(self.project) as store, store.write():
                task = loading.load(store, task_id)
                lifecycle.record(task, self.opts.actor, "fleet", event=what, **details)
                store.put(task)
        except NexusError:
            pass  # the task vanished (a teammate's tasks.jsonl): nothing to record it on

    def _save(self) -> None:
        fleet_state.save_agents(
            self.project,
            [
                {
                    "task": a.task,
                    "workspace": a.workspace,
                    "agent": a.slot,
                    "pid": a.child.pid,
                    "started": a.started,
                }
                for a in self.running.values()
            ],
            waiting_for_lease=sorted(self.orphans),
        )


def _claimed(task: Task | None) -> bool:
    return (
        task is not None and task.status in ("in_progress", "verifying") and not lease.expired(task)
    )


def template_of(task: Task, default: str) -> str:
    """The template a task asks for with a ``template:NAME`` label (from tasks.jsonl: checked
    like a template name on the command line), else ``default``."""
    for label in task.labels:
        if label.startswith(TEMPLATE_LABEL):
            return validate.template_name(label[len(TEMPLATE_LABEL) :], source=f"task {task.id}")
    return default


def _workspace_name(task_id: str) -> str:
    return f"task-{task_id.removeprefix('nx-')}"


def _assign_workspace(project: Project, task_id: str, name: str, actor: str) -> None:
    with opened(project) as store, store.write():
        task = loading.load(store, task_id)
        if task.workspace != name:
            lifecycle.record(task, actor, "workspace_assigned", workspace=name)
            task.workspace = name
            store.put(task)


def _agent_env(workspace: Workspace, task_id: str, agent_name: str) -> dict[str, str]:
    """The environment of one agent: NEXUS_TASK_ID, NEXUS_AGENT and the workspace's variables
    (``nexus workspace env``: its ports, and ``NEXUS_SERVICE_<SERVICE>_ADDR`` of its services)."""
    env = dict(os.environ)
    env.update(host_ports.variables_of(workspace))
    env.update(NEXUS_TASK_ID=task_id, NEXUS_AGENT=agent_name)
    return env
