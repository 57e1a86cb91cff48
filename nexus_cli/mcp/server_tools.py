"""Every tool ``nexus mcp`` offers, with its JSON input schema (from the annotations)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Protocol

from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field

from nexus_cli.caller import Caller
from nexus_cli.gpu.guards import PID_MAX
from nexus_cli.mcp import analysis_tools as at
from nexus_cli.mcp import task_tools as tt
from nexus_cli.mcp import workspace_tools as wt
from nexus_cli.project import Project
from nexus_cli.tasks import memory
from nexus_cli.tasks.limits import LIST_LIMIT, MAX_LIMIT, READY_LIMIT
from nexus_cli.tasks.statuses import STATUSES

TaskId = Annotated[str, Field(description="Task id, e.g. nx-ab12 (the 'nx-' may be left out).")]
WorkspaceName = Annotated[
    str, Field(description="Workspace name: lowercase letters, digits, '.', '_', '-'.")
]
WaitSpecs = Annotated[
    list[str],
    Field(
        description="Waiting gates, which run nothing: 'approval:NAME' (only that person can "
        "satisfy it, with `nexus task approve ID --as NAME` at a terminal; no tool approves), "
        "'after:2026-12-24T09:00Z' (a moment with a zone), 'task:ID' or 'task:PATH#ID' (that "
        "task, here or in the repository at PATH, is done)."
    ),
]
# Every integer argument has both bounds, the CLI's IntRange: a value past them is refused with one
# line (nexus_cli/mcp/arguments.py) before any code runs, never an overflow further down.
Limit = Annotated[
    int, Field(description=f"At most this many (0: all; at most {MAX_LIMIT}).", ge=0, le=MAX_LIMIT)
]
Window = Annotated[
    str,
    Field(description="'today', 'week', 'month', a duration like '7d' or '12h', or a date."),
]


class ToolHost(Protocol):
    """What the tools are registered on: the server (:class:`nexus_cli.mcp.server.NexusMCP`)."""

    project: Project
    app: MCPServer[Any]

    async def run(
        self, tool: str, fn: Callable[..., Any], *args: Any, ctx: Context | None = None
    ) -> str:
        """Run ``fn`` for ``tool`` in a thread; its result as JSON text."""
        ...


def register(s: ToolHost) -> None:
    _register_task_queries(s)
    _register_task_changes(s)
    _register_workspaces(s)
    _register_analysis(s)


def _register_task_queries(s: ToolHost) -> None:
    app, p = s.app, s.project

    @app.tool(description="Open tasks with no unfinished dependency, unassigned or yours.")
    async def task_ready(
        limit: Limit = READY_LIMIT[Caller.AGENT],
    ) -> str:
        return await s.run("task_ready", tt.task_ready, p, limit)

    @app.tool(
        description=f"Tasks by priority then age, optionally filtered: the first `limit` "
        f"({LIST_LIMIT[Caller.AGENT]} unless you ask). A result of exactly `limit` tasks may "
        "have more after it: filter by status or label, or call again with a larger limit "
        "(0: all)."
    )
    async def task_list(
        status: Annotated[
            str | None, Field(description="One of: " + ", ".join(STATUSES) + ".")
        ] = None,
        label: Annotated[str | None, Field(description="Only tasks with this label.")] = None,
        limit: Limit = LIST_LIMIT[Caller.AGENT],
    ) -> str:
        return await s.run("task_list", tt.task_list, p, status, label, limit)

    @app.tool(description="One task: status, gates, notes, history (as `nexus task show --json`).")
    async def task_show(id: TaskId) -> str:
        return await s.run("task_show", tt.task_show, p, id)

    @app.tool(
        description="Markdown hand-off for a task: goal, gates with the last failing output, "
        "rejections, notes and related tasks. Read it before resuming work."
    )
    async def task_context(id: TaskId) -> str:
        return await s.run("task_context", tt.task_context, p, id)

    @app.tool(
        description="Unfinished tasks that wait, as `nexus task blocked --json`: `blocked_by` "
        "lists unfinished dependencies, `waiting_on` the waiting gates not satisfied yet (a "
        "person's approval, a moment, another task) with the reason."
    )
    async def task_blocked() -> str:
        return await s.run("task_blocked", tt.task_blocked, p)

    @app.tool(description="Every transition, gate run and change of a task: who, when and why.")
    async def task_history(id: TaskId) -> str:
        return await s.run("task_history", tt.task_history, p, id)


def _register_task_changes(s: ToolHost) -> None:
    app, p = s.app, s.project

    @app.tool(
        description="Create a task whose verification gates (shell commands run in the "
        "project) must all exit 0 before it can be done. Returns the task with its id.\n"
        "Gates proposed by an agent wait for a person's approval before they can run "
        "(`nexus task gate approve ID`)."
    )
    async def task_create(
        title: Annotated[str, Field(description="What to do, in one line.")],
        ctx: Context,
        gates: Annotated[
            list[str],
            Field(
                description="Shell commands that must exit 0, e.g. ['pytest -q']. Empty: "
                "the project's detected test command."
            ),
        ] = [],  # noqa: B006 - pydantic copies defaults
        description: Annotated[str, Field(description="What done looks like.")] = "",
        priority: Annotated[int, Field(description="0 (highest) to 4.", ge=0, le=4)] = 2,
        depends_on: Annotated[
            list[str], Field(description="Ids of tasks that must be done first.")
        ] = [],  # noqa: B006
        labels: Annotated[list[str], Field(description="Free-form labels.")] = [],  # noqa: B006
        no_gates: Annotated[
            bool,
            Field(
                description="Refused over MCP: only a person may create a task without gates "
                "(`nexus task create --no-gates`)."
            ),
        ] = False,
        waits: WaitSpecs = [],  # noqa: B006
    ) -> str:
        args = (p, title, gates, description, priority, depends_on, labels, no_gates, waits)
        return await s.run("task_create", tt.task_create, *args, ctx=ctx)

    @app.tool(
        description="Change a task: title, description, priority, labels, dependencies (cycles "
        "are refused), parent (an epic; '' removes it) or gates. Give only what changes; every "
        "change is a history entry. `gates` replaces every command gate; a new or changed gate "
        "waits for a person's approval, and an agent cannot remove a gate. `waits` replaces the "
        "waiting gates: an agent may add one, never remove or change one."
    )
    async def task_update(
        id: TaskId,
        title: Annotated[str | None, Field(description="New title.", min_length=1)] = None,
        description: Annotated[str | None, Field(description="New description.")] = None,
        priority: Annotated[int | None, Field(description="0 (highest) to 4.", ge=0, le=4)] = None,
        add_labels: Annotated[list[str], Field(description="Labels to add.")] = [],  # noqa: B006
        remove_labels: Annotated[list[str], Field(description="Labels to remove.")] = [],  # noqa: B006
        add_depends_on: Annotated[
            list[str], Field(description="Ids of tasks that must be done first.")
        ] = [],  # noqa: B006
        remove_depends_on: Annotated[list[str], Field(description="Dependencies to remove.")] = [],  # noqa: B006
        gates: Annotated[
            list[str] | None,
            Field(description="Replace every command gate with these shell commands."),
        ] = None,
        parent: Annotated[
            str | None, Field(description="The epic's id ('' : no parent).", max_length=40)
        ] = None,
        waits: Annotated[
            list[str] | None,
            Field(description="Replace every waiting gate with these (see task_create)."),
        ] = None,
    ) -> str:
        args = (p, id, title, description, priority, add_labels, remove_labels)
        rest = (add_depends_on, remove_depends_on, gates, parent, waits)
        return await s.run("task_update", tt.task_update, *args, *rest)

    @app.tool(description="Atomically take an open task (exactly one of many claims wins).")
    async def task_claim(id: TaskId) -> str:
        return await s.run("task_claim", tt.change, p, id, "claim")

    @app.tool(description="Start working on a task (assigns it to you).")
    async def task_start(id: TaskId) -> str:
        return await s.run("task_start", tt.change, p, id, "start")

    @app.tool(description="Add a note to a task (kept for whoever picks it up next).")
    async def task_note(
        id: TaskId, text: Annotated[str, Field(description="The note.", min_length=1)]
    ) -> str:
        return await s.run("task_note", _note, p, id, text)

    @app.tool(
        description="Run a task's gates without changing its status. An error result lists "
        "each gate's exit code and output tail. A gate that waits for a person's approval "
        "does not run: the error says so, and only a person can approve it."
    )
    async def task_verify(id: TaskId, ctx: Context) -> str:
        return await s.run("task_verify", tt.run_gates, p, id, False, ctx=ctx)

    @app.tool(
        description="Run every gate; only if all pass does the task become done (or review). "
        "If one fails it is an error result with each gate's exit code and output tail, and "
        "the task stays in_progress. There is no way to skip a gate. A gate that waits for a "
        "person's approval does not run: the error says so, and only a person can approve it."
    )
    async def task_complete(id: TaskId, ctx: Context) -> str:
        return await s.run("task_complete", tt.run_gates, p, id, True, ctx=ctx)

    @app.tool(
        description="Remember a short project fact for every agent and later sessions (one "
        "sentence; `nexus prime` shows the newest). Returns the fact with its id."
    )
    async def remember(
        text: Annotated[
            str, Field(description="The fact.", min_length=1, max_length=memory.MAX_TEXT_CHARS)
        ],
        task: Annotated[
            str | None, Field(description="The task this was learned on.", max_length=40)
        ] = None,
    ) -> str:
        return await s.run("remember", _remember, p, text, task)

    @app.tool(description="Forget a project fact by its id (a fact that turned out wrong).")
    async def forget(
        id: Annotated[str, Field(description="The fact's id (mem-...).", max_length=40)],
    ) -> str:
        return await s.run("forget", _forget, p, id)


def _remember(project: Project, text: str, task: str | None) -> object:
    return memory.remember(project, text, task=task).to_json()


def _forget(project: Project, fact_id: str) -> object:
    return memory.forget(project, fact_id).to_json()


def _note(project: object, task_id: str, text: str) -> object:
    return tt.change(project, task_id, "note", text=text)  # type: ignore[arg-type]


def _register_workspaces(s: ToolHost) -> None:
    app, p = s.app, s.project

    @app.tool(description="Workspaces with their state, branch, template, services and drift.")
    async def workspace_list() -> str:
        return await s.run("workspace_list", wt.workspace_list, p)

    @app.tool(description="One workspace: worktree, branch, uncommitted changes, services.")
    async def workspace_status(name: WorkspaceName) -> str:
        return await s.run("workspace_status", wt.workspace_status, p, name)

    @app.tool(
        description="Create a workspace: git worktree on branch NAME plus the template's "
        "services, ports and volumes (template 'bare' has no services)."
    )
    async def workspace_create(
        name: WorkspaceName,
        ctx: Context,
        template: Annotated[
            str, Field(description="Template name (see `nexus template list`).")
        ] = "bare",
        vars: Annotated[
            dict[str, str], Field(description="Template variables, e.g. {'PG_VERSION': '16'}.")
        ] = {},  # noqa: B006
        host_ports: Annotated[
            list[str],
            Field(
                description="Names of ports to allocate for processes on the host, e.g. ['web'].",
                max_length=16,
            ),
        ] = [],  # noqa: B006
    ) -> str:
        return await s.run(
            "workspace_create",
            wt.workspace_create,
            p,
            name,
            template,
            vars,
            host_ports,
            ctx=ctx,
        )

    @app.tool(description="Start a workspace's services (ports stay the same when free).")
    async def workspace_up(name: WorkspaceName, ctx: Context) -> str:
        return await s.run("workspace_up", wt.workspace_up, p, name, ctx=ctx)

    @app.tool(description="Stop a workspace's containers; volumes, network and ports are kept.")
    async def workspace_down(name: WorkspaceName) -> str:
        return await s.run("workspace_down", wt.workspace_down, p, name)

    @app.tool(
        description="Run a command (argv list, no shell) in /workspace of a workspace service; "
        "returns exit_code and the last 64 KiB of output."
    )
    async def workspace_exec(
        name: WorkspaceName,
        command: Annotated[list[str], Field(description="Argv, e.g. ['pytest', '-q'].")],
        ctx: Context,
        service: Annotated[
            str | None, Field(description="Service (default: the template's first).")
        ] = None,
    ) -> str:
        return await s.run("workspace_exec", wt.workspace_exec, p, name, command, service, ctx=ctx)


def _register_analysis(s: ToolHost) -> None:
    app, p = s.app, s.project

    @app.tool(description="Personas (role bundles for coding assistants) that can be added.")
    async def persona_list() -> str:
        return await s.run("persona_list", at.persona_list, p)

    @app.tool(description="The personas active in this project.")
    async def persona_current() -> str:
        return await s.run("persona_current", at.persona_current, p)

    @app.tool(
        description="Usage statistics for a window: invocations, success rate, timings; with "
        "cost, what coding agents spent per task, persona, model and verified/abandoned work."
    )
    async def stats(
        window: Window = "week",
        cost: Annotated[
            bool, Field(description="Also agents' tokens, cost and wall time (stats --cost).")
        ] = False,
    ) -> str:
        return await s.run("stats", at.stats, p, window, cost)

    @app.tool(description="Usage patterns detected in a window, each with a suggested fix.")
    async def insights(window: Window = "month") -> str:
        return await s.run("insights", at.insights, window)

    @app.tool(
        description="Read-only: what would be lost if a process were killed now (runtime, GPU "
        "memory, checkpoints, children, distributed ranks). Sends no signal."
    )
    async def gpu_impact(
        pid: Annotated[int, Field(description="Process id to analyse.", ge=1, le=PID_MAX)],
    ) -> str:
        return await s.run("gpu_impact", at.gpu_impact, pid)
