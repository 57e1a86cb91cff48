"""What a running fleet writes for `nexus fleet status`: ``.nexus/state/fleet.json``.

Written atomically by the fleet on every change (its agents: task, workspace, slot, pid, start
time); :func:`status` joins it with each task's history (iteration, last gate result) and the
merge queue. A fleet whose pid no longer runs Nexus is shown as not running.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from nexus_cli import fs, jsonio, owner, ownership, safe_path
from nexus_cli.project import Project
from nexus_cli.tasks import merge_queue
from nexus_cli.tasks.listing import opened

STATE_FILE = "fleet.json"


def _write(project: Project, data: dict[str, Any]) -> None:
    fs.atomic_write(
        project.state_dir / STATE_FILE, jsonio.dumps(data) + "\n", mode=0o600, root=project.root
    )


def _read(project: Project) -> dict[str, Any]:
    try:
        raw = jsonio.loads(safe_path.read_bytes(project.root, project.state_dir / STATE_FILE))
    except (FileNotFoundError, jsonio.JSONError):
        return {}
    return raw if isinstance(raw, dict) else {}


def begin(project: Project, target: str, agents: int, me: owner.Owner) -> None:
    _write(
        project,
        {
            "pid": os.getpid(),
            "owner": me.to_json(),
            "target": target,
            "max_agents": agents,
            "started": time.time(),
            "running": True,
            "agents": [],
            "waiting_for_lease": [],
        },
    )


def save_agents(
    project: Project, agents: list[dict[str, Any]], *, waiting_for_lease: list[str]
) -> None:
    data = _read(project)
    data.update(agents=agents, waiting_for_lease=waiting_for_lease)
    _write(project, data)


def finish(project: Project) -> None:
    data = _read(project)
    if data:
        data.update(running=False, agents=[])
        _write(project, data)


@dataclass
class FleetStatus:
    running: bool
    target: str | None
    max_agents: int | None
    agents: list[dict[str, Any]] = field(default_factory=list)
    waiting_for_lease: list[str] = field(default_factory=list)
    queue: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """What ``nexus fleet status --json`` prints."""
        return {
            "running": self.running,
            "target": self.target,
            "max_agents": self.max_agents,
            "agents": self.agents,
            "waiting_for_lease": self.waiting_for_lease,
            "queue": self.queue,
        }


def status(project: Project) -> FleetStatus:
    data = _read(project)
    recorded = owner.parse(data.get("owner") or {}) if data else None
    running = bool(data.get("running")) and recorded is not None and ownership.alive(recorded)
    agents: list[dict[str, Any]] = []
    now = time.time()
    with opened(project) as store:
        for item in data.get("agents") or [] if running else []:
            if not isinstance(item, dict) or not isinstance(item.get("task"), str):
                continue
            task = store.get(item["task"])
            history = task.history if task is not None else []
            runs = [h for h in history if h.get("action") == "gate_run"]
            started = item.get("started")
            agents.append(
                {
                    "agent": item.get("agent"),
                    "task": item["task"],
                    "title": task.title if task is not None else None,
                    "status": task.status if task is not None else None,
                    "workspace": item.get("workspace"),
                    "iteration": sum(1 for h in history if h.get("action") == "loop_iteration"),
                    "last_gate": None
                    if not runs
                    else ("passed" if runs[-1].get("passed") else "failed"),
                    "seconds": round(now - started, 1)
                    if isinstance(started, int | float)
                    else None,
                }
            )
    waiting = (
        [t for t in data.get("waiting_for_lease") or [] if isinstance(t, str)] if running else []
    )
    target = data.get("target") if isinstance(data.get("target"), str) else None
    limit = data.get("max_agents") if type(data.get("max_agents")) is int else None
    return FleetStatus(running, target, limit, agents, waiting, merge_queue.read(project).to_json())
