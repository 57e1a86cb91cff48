"""``nexus fleet``: several agents at once, each task in its own workspace (run, status)."""

from __future__ import annotations

import signal
import time

import click

from nexus_cli.commands.options import FiniteRange, lease_option
from nexus_cli.commands.task_common import me, project
from nexus_cli.errors import ExitCode, Terminated
from nexus_cli.lazy import NexusGroup
from nexus_cli.loop import fleet as fleet_run
from nexus_cli.loop import fleet_state
from nexus_cli.loop.config import load_settings
from nexus_cli.loop.runner import LoopInterrupted, refuse_without_agent
from nexus_cli.output import emit_json, info, json_option
from nexus_cli.telemetry.journal import invocation
from nexus_cli.terminal import escape

WATCH_ROWS = 16  # agents shown by --watch: the table, its header and the queue fit 80x24


@click.group(cls=NexusGroup)
def fleet() -> None:
    """Several agents at once: each ready task in its own workspace, merged through the queue."""
    invocation.note(event_type="loop")


@fleet.command("run")
@click.option(
    "--agents",
    "-n",
    type=click.IntRange(1, 64),
    default=2,
    show_default=True,
    help="How many agents work at once.",
)
@click.option(
    "--agent",
    "agent_cmd",
    metavar="CMD",
    help="Agent command line (default: loop.agent in your own config.yaml).",
)
@click.option(
    "--template",
    "-t",
    default="bare",
    show_default=True,
    help="Workspace template for each task (a task's template:NAME label wins).",
)
@click.option(
    "--into",
    "target",
    metavar="BRANCH",
    help="Target branch (default: the main worktree's branch).",
)
@click.option(
    "--max-iterations", type=click.IntRange(1), default=10, show_default=True, help="Per task."
)
@click.option(
    "--iteration-timeout",
    type=FiniteRange(min=0, min_open=True),
    metavar="SECONDS",
    help="End one agent run after SECONDS.",
)
@lease_option("How long a claim lasts without a heartbeat (default: tasks.lease_seconds).")
@json_option
def run(
    agents: int,
    agent_cmd: str | None,
    template: str,
    target: str | None,
    max_iterations: int,
    iteration_timeout: float | None,
    lease_s: int | None,
    as_json: bool,
) -> int:
    """Run up to N agents on the ready tasks, each in its own workspace, until none is left.

    Each agent is `nexus loop --task ID` in the task's workspace, with NEXUS_TASK_ID, the
    workspace's ports (NEXUS_PORT_*, PORT) and services (NEXUS_SERVICE_<NAME>_ADDR) in its
    environment. A task whose gates pass enters the merge queue: its gates run again on the
    combined result before the target branch moves. Ctrl-C/SIGTERM ends every agent's process
    group and releases their tasks with a note.
    """
    proj = project()
    settings = load_settings(proj)
    opts = fleet_run.FleetOptions(
        agent=refuse_without_agent(
            agent_cmd or settings.agent, repository_agent=settings.repository_agent
        ),
        actor=me(),
        agents=agents,
        template=template,
        target=target,
        max_iterations=max_iterations,
        iteration_timeout_s=iteration_timeout,
        lease_s=lease_s,
    )
    try:
        result = fleet_run.run_fleet(
            proj, opts, lambda line: None if as_json else info(escape(line))
        )
    except Terminated as exc:  # SIGTERM, or SIGHUP: the terminal closed
        name = signal.Signals(exc.signum).name
        raise LoopInterrupted(
            f"nexus fleet stopped by {name}", exit_code=128 + exc.signum
        ) from None
    except KeyboardInterrupt:
        raise LoopInterrupted("nexus fleet interrupted", exit_code=ExitCode.INTERRUPTED) from None
    if as_json:
        emit_json(result.to_json())
    else:
        info(
            f"merged {len(result.merged)}, sent back {len(result.sent_back)}, "
            f"stopped {len(result.stopped)}"
        )
    return int(ExitCode.OK if not result.stopped and not result.sent_back else ExitCode.ERROR)


def _lines(state: fleet_state.FleetStatus) -> list[str]:
    head = "fleet running" if state.running else "no fleet running"
    if state.target:
        head += f" (into {escape(state.target)}, up to {state.max_agents} agents)"
    lines = [
        head,
        f"{'#':>2} {'task':<9} {'workspace':<14} {'it':>3} {'gate':<6} {'time':>6} title",
    ]
    for a in state.agents[:WATCH_ROWS]:
        secs = a.get("seconds") or 0
        lines.append(
            f"{a.get('agent')!s:>2} {escape(str(a['task']))[:9]:<9} "
            f"{escape(str(a.get('workspace')))[:14]:<14} {a.get('iteration')!s:>3} "
            f"{escape(str(a.get('last_gate') or '-'))[:6]:<6} {int(secs) // 60:>3}:{int(secs) % 60:02d} "
            f"{escape(str(a.get('title') or ''), newlines=False)[:30]}"
        )
    if len(state.agents) > WATCH_ROWS:
        lines.append(f"   ... {len(state.agents) - WATCH_ROWS} more")
    if state.waiting_for_lease:
        lines.append("waiting for a lease to expire: " + ", ".join(state.waiting_for_lease)[:60])
    entries = state.queue.get("entries") or []
    lines.append(
        f"merge queue: {len(entries)} waiting"
        + (": " + ", ".join(str(e["task"]) for e in entries)[:60] if entries else "")
    )
    recent = state.queue.get("recent") or []
    if recent:
        last = recent[-1]
        lines.append(
            f"last merge: {escape(str(last.get('task')))} {escape(str(last.get('outcome')))}"
        )
    return [line[:80] for line in lines]


@fleet.command("status")
@click.option("--watch", is_flag=True, help="Redraw every 2 seconds (fits 80x24) until Ctrl-C.")
@json_option
def status(watch: bool, as_json: bool) -> None:
    """Each agent (task, workspace, iteration, last gate result, time) and the merge queue."""
    proj = project()
    if as_json:
        emit_json(fleet_state.status(proj).to_json())
        return
    while True:
        lines = _lines(fleet_state.status(proj))
        if not watch:
            click.echo("\n".join(lines))
            return
        click.echo("\x1b[H\x1b[2J" + "\n".join(lines), nl=False)
        time.sleep(2)
