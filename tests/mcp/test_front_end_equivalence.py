"""One core, two front ends (ADR 0007): every MCP tool that has a CLI counterpart gives the same
JSON as that command's ``--json``, and both validate against the same schema in docs/schemas/v1.

The same steps run through the CLI (in-process, its real entry point) in one project and through
a real ``nexus mcp`` (the MCP SDK's stdio client, ``NEXUS_DEBUG=1`` so that the server checks its
own results too) in a twin project. What differs by nature — task ids, moments, process ids,
durations, the project folder — is replaced by placeholders before the two are compared.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import pytest

from nexus_cli import cli
from nexus_cli.mcp.schemas import TOOL_SCHEMAS, errors
from tests.conftest import git, run_nexus
from tests.mcp.conftest import mcp_session, text_of
from tests.mcp.test_front_end_equivalence_workspaces import COMPARED_WORKSPACE_TOOLS

TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")
MINUTE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")
# ``via`` and a receipt's ``approved``: how a gate arrived and was approved differ by nature
# (typed on the CLI, proposed by an agent and trusted by a rule); a receipt's ``head`` and
# ``tree`` name each side's own repository; a verifying owner's ``start`` and ``token`` are each
# operation's own (nexus_cli/owner.py).
VOLATILE = {
    "pid", "host", "duration_ms", "runtime_s", "rss_bytes", "cpu_percent", "seconds", "via",
    "approved", "head", "tree", "start", "token",
}  # fmt: skip
LOST = re.compile(r"lose .+? of work")


@dataclass
class Step:
    """One operation: the CLI words (``--json`` is added unless ``text``), the MCP tool and its
    arguments. ``{t1}`` in either is the id saved as ``t1`` on that side."""

    cli: list[str]
    tool: str
    args: dict[str, Any] = field(default_factory=dict)
    save: str | None = None
    text: bool = False  # the CLI prints text (task context), the tool returns it
    fails: bool = False  # both refuse it: compare the one-line message (and JSON, if any)


TASK_STEPS = [
    Step(
        ["task", "create", "First", "--gate", "true", "--label", "x", "-p", "1", "-d", "desc"],
        "task_create",
        {
            "title": "First",
            "gates": ["true"],
            "labels": ["x"],
            "priority": 1,
            "description": "desc",
        },
        save="t1",
    ),
    Step(
        ["task", "create", "Second", "--gate", "test -f done.txt", "--depends-on", "{t1}"],
        "task_create",
        {"title": "Second", "gates": ["test -f done.txt"], "depends_on": ["{t1}"]},
        save="t2",
    ),
    Step(["task", "create", "Detected"], "task_create", {"title": "Detected"}, save="t3"),
    Step(["task", "ready"], "task_ready"),
    Step(["task", "ready", "--limit", "1"], "task_ready", {"limit": 1}),
    Step(["task", "list"], "task_list"),
    Step(
        ["task", "list", "--status", "open", "--label", "x"],
        "task_list",
        {"status": "open", "label": "x"},
    ),
    Step(["task", "show", "{t1}"], "task_show", {"id": "{t1}"}),
    Step(["task", "claim", "{t1}"], "task_claim", {"id": "{t1}"}),
    Step(["task", "note", "{t1}", "a note"], "task_note", {"id": "{t1}", "text": "a note"}),
    Step(["task", "verify", "{t1}"], "task_verify", {"id": "{t1}"}),
    Step(["task", "complete", "{t1}"], "task_complete", {"id": "{t1}"}),
    Step(["task", "history", "{t1}"], "task_history", {"id": "{t1}"}),
    Step(["task", "context", "{t1}"], "task_context", {"id": "{t1}"}, text=True),
    Step(["task", "start", "{t2}"], "task_start", {"id": "{t2}"}),
    Step(["task", "complete", "{t2}"], "task_complete", {"id": "{t2}"}, fails=True),
    Step(["task", "verify", "{t2}"], "task_verify", {"id": "{t2}"}, fails=True),
    Step(["task", "show", "nx-zzzzzzzz"], "task_show", {"id": "nx-zzzzzzzz"}, fails=True),
    Step(["task", "show", "../x"], "task_show", {"id": "../x"}, fails=True),
    Step(["task", "list", "--status", "open"], "task_list", {"status": "open"}),
    Step(
        ["task", "create", "Bad dep", "--gate", "true", "--depends-on", "../x"],
        "task_create",
        {"title": "Bad dep", "gates": ["true"], "depends_on": ["../x"]},
        fails=True,
    ),
    Step(["task", "list", "--limit", "1"], "task_list", {"limit": 1}),
    Step(["task", "list", "--limit", "0", "--label", "x"], "task_list", {"limit": 0, "label": "x"}),
    Step(["persona", "list"], "persona_list"),
    Step(["persona", "current"], "persona_current"),
    Step(
        ["remember", "tests need `make db` first", "--task", "{t1}"],
        "remember",
        {"text": "tests need `make db` first", "task": "{t1}"},
        save="f1",
    ),
    Step(["forget", "{f1}"], "forget", {"id": "{f1}"}),
    Step(["forget", "{f1}"], "forget", {"id": "{f1}"}, fails=True),
    Step(["remember", "   "], "remember", {"text": "   "}, fails=True),
    Step(
        ["task", "edit", "{t3}", "--title", "Renamed", "--add-label", "y", "-p", "0", "-d", "new"],
        "task_update",
        {
            "id": "{t3}",
            "title": "Renamed",
            "add_labels": ["y"],
            "priority": 0,
            "description": "new",
        },
    ),
    Step(
        ["task", "edit", "{t3}", "--gate", "make test", "--gate", "true", "--parent", "{t2}"],
        "task_update",
        {"id": "{t3}", "gates": ["make test", "true"], "parent": "{t2}"},
    ),
    Step(
        ["task", "edit", "{t3}", "--add-dep", "{t3}"],
        "task_update",
        {"id": "{t3}", "add_depends_on": ["{t3}"]},
        fails=True,
    ),
    Step(
        ["task", "edit", "{t2}", "--parent", "{t3}"],
        "task_update",
        {"id": "{t2}", "parent": "{t3}"},
        fails=True,
    ),
    Step(
        ["task", "create", "Waits", "--gate", "true", "--wait", "approval:bob"],
        "task_create",
        {"title": "Waits", "gates": ["true"], "waits": ["approval:bob"]},
        save="tw",
    ),
    Step(["task", "blocked"], "task_blocked"),
    Step(  # a waiting gate added (an agent may add one, never remove or change one)
        ["task", "edit", "{tw}", "--wait", "approval:bob", "--wait", "task:{t1}"],
        "task_update",
        {"id": "{tw}", "waits": ["approval:bob", "task:{t1}"]},
    ),
    Step(["task", "blocked"], "task_blocked"),
    Step(
        ["task", "create", "Bad wait", "--gate", "true", "--wait", "after:someday"],
        "task_create",
        {"title": "Bad wait", "gates": ["true"], "waits": ["after:someday"]},
        fails=True,
    ),
]
# Read from the one telemetry database that both sides share, neither recording meanwhile.
USAGE_STEPS = [
    Step(["stats", "--week"], "stats", {"window": "week"}),
    Step(["stats", "--since", "7d"], "stats", {"window": "7d"}),
    Step(["stats", "--week", "--cost"], "stats", {"window": "week", "cost": True}),
    Step(["insights", "--month"], "insights", {"window": "month"}),
    Step(["insights", "--today"], "insights", {"window": "today"}),
]


def _project(root: Path) -> Path:
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "Makefile").write_text("test:\n\ttrue\n")  # `make test` is detected as a gate
    git(root, "add", "Makefile")
    git(root, "commit", "-q", "-m", "initial")
    assert run_nexus("-C", str(root), "init").exit_code == 0
    return root


class Side:
    """One front end in one project: runs steps, keeps the ids it was given."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.ids: dict[str, str] = {}

    def fill(self, value: Any) -> Any:
        text = json.dumps(value)
        for name, task_id in self.ids.items():
            text = text.replace("{" + name + "}", task_id)
        return json.loads(text)

    def normal(self, value: Any) -> Any:
        """``value`` with what differs by nature between the two sides made placeholders."""
        text = json.dumps(value, ensure_ascii=False).replace(str(self.root), "<root>")
        for name, task_id in self.ids.items():
            text = text.replace(task_id, "{" + name + "}")
        text = TIMESTAMP.sub("<time>", text)
        text = MINUTE.sub("<minute>", text)
        text = LOST.sub("lose <time> of work", text)
        return _blank(json.loads(text))


def _blank(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: "<n>" if k in VOLATILE else _blank(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_blank(v) for v in node]
    return node


def _cli(side: Side, step: Step) -> tuple[Any, str | None]:
    """What the command printed (parsed) and its one-line error (None if it succeeded)."""
    words = side.fill(step.cli) + ([] if step.text else ["--json"])
    result = run_nexus("-C", str(side.root), *words, env={"NEXUS_DEBUG": ""})
    assert (result.exit_code != 0) == step.fails, (words, result.stderr)
    error = None
    if step.fails:
        lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        error = lines[-1].removeprefix("error: ")
    if not result.stdout.strip():
        return None, error
    return (result.stdout.removesuffix("\n") if step.text else json.loads(result.stdout)), error


async def _mcp(session: Any, side: Side, step: Step) -> tuple[Any, str | None]:
    result = await session.call_tool(step.tool, side.fill(step.args))
    text = text_of(result)
    assert result.is_error == step.fails, (step.tool, text)
    if step.fails:
        first, _, payload = text.partition("\n")
        error = first.removeprefix(f"Error executing tool {step.tool}: ").split(" (hint: ")[0]
        return (json.loads(payload) if payload else None), error
    return (text if step.text else json.loads(text)), None


@dataclass
class Seen:
    step: Step
    by_cli: Any  # as printed / returned
    by_mcp: Any
    normal_cli: Any  # with placeholders
    normal_mcp: Any


def _run_both(cli: Side, mcp: Side, steps: list[Step], *global_args: str) -> list[Seen]:
    async def session() -> list[Seen]:
        seen: list[Seen] = []
        async with mcp_session(mcp.root, *global_args) as s:
            for step in steps:
                by_cli, cli_error = _cli(cli, step)
                by_mcp, mcp_error = await _mcp(s, mcp, step)
                if step.save:
                    cli.ids[step.save], mcp.ids[step.save] = by_cli["id"], by_mcp["id"]
                if step.fails:
                    assert cli.normal(cli_error) == mcp.normal(mcp_error), step.cli
                seen.append(Seen(step, by_cli, by_mcp, cli.normal(by_cli), mcp.normal(by_mcp)))
        return seen

    return asyncio.run(session())


def _check(seen: list[Seen]) -> None:
    """The same JSON through both, and each valid against the tool's (the command's) schema."""
    for one in seen:
        assert one.normal_cli == one.normal_mcp, one.step.cli
        if one.by_mcp is not None:
            schema = TOOL_SCHEMAS[one.step.tool]
            assert errors(schema, one.by_cli) == [], one.step.cli
            assert errors(schema, one.by_mcp) == [], one.step.tool


@pytest.fixture
def twins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Side, Side]:
    monkeypatch.setenv("NEXUS_AGENT", "alice")
    monkeypatch.setenv("NEXUS_DEBUG", "1")  # the server checks each result against its schema
    monkeypatch.chdir(tmp_path)  # `nexus -C` changes this process's folder: restored after
    return Side(_project(tmp_path / "by-cli")), Side(_project(tmp_path / "by-mcp"))


# The tools with no `--json` twin: `nexus workspace exec` streams the command's output and exits
# with its code (the tool returns both as JSON).
NO_JSON_TWIN = {"workspace_exec"}


def _schema_of(words: list[str]) -> str:
    """The schema name of the command that ``words`` run (``task edit ID`` -> ``task-edit``)."""
    command: click.Command = cli.cli
    path: list[str] = []
    for word in words:
        if not isinstance(command, click.Group):
            break
        sub = command.get_command(click.Context(command), word)
        if sub is None:
            break
        path.append(word)
        command = sub
    return "-".join(path)


def test_every_tool_with_a_cli_twin_is_covered(project: Path) -> None:
    """Every tool the server lists is compared here or in ..._workspaces.py, unless it has no
    `--json` twin; and each is checked against the schema of the command it is compared with."""

    async def listed() -> set[str]:
        async with mcp_session(project) as s:
            return {t.name for t in (await s.list_tools()).tools}

    tools = asyncio.run(listed())
    assert tools - set(TOOL_SCHEMAS) == NO_JSON_TWIN
    gpu = Step(["gpu", "impact", "1"], "gpu_impact", {"pid": 1})
    steps = [*TASK_STEPS, *USAGE_STEPS, gpu]
    assert {s.tool for s in steps} | COMPARED_WORKSPACE_TOOLS == set(TOOL_SCHEMAS)
    for step in steps:
        if step.text:  # the command prints text; only the tool has a (string) schema
            assert TOOL_SCHEMAS[step.tool] == "mcp-" + _schema_of(step.cli), step.cli
        else:
            assert TOOL_SCHEMAS[step.tool] == _schema_of(step.cli), step.cli
    for tool in COMPARED_WORKSPACE_TOOLS:  # `workspace_up` is `nexus workspace up`
        assert TOOL_SCHEMAS[tool] == _schema_of(tool.split("_")), tool


def test_tasks_and_personas_give_the_same_json_through_both(
    twins: tuple[Side, Side], trust: Callable[..., Path]
) -> None:
    trust("true", "test -f done.txt", "make test")  # the agent's gates may run: the person says so
    cli, mcp = twins
    seen = _run_both(cli, mcp, TASK_STEPS)
    _check(seen)
    done = seen[11].by_mcp
    assert seen[11].step.tool == "task_complete" and done["passed"] is True
    assert done["task"]["status"] == "done"
    assert seen[2].by_mcp["gates"][0]["command"] == "make test"  # detected on both sides
    failed = seen[15]
    assert failed.step.fails and failed.by_mcp["passed"] is False
    assert failed.by_cli["task"]["status"] == "in_progress"
    one = [x for x in seen if x.step.args == {"limit": 1}]
    assert len(one[0].by_mcp) == 1
    waits = next(x for x in seen if x.step.tool == "task_update" and "waits" in x.step.args)
    kinds = [g["wait"] for g in waits.by_mcp["gates"] if "wait" in g]
    assert sorted(kinds) == ["approval", "task"]  # added to the one it had, on both sides


def test_usage_reports_give_the_same_json_through_both(twins: tuple[Side, Side]) -> None:
    cli, mcp = twins
    for _ in range(3):  # something to count, and a recurring error for insights
        assert run_nexus("-C", str(cli.root), "task", "show", "nx-zzzz").exit_code == 1
    seen = _run_both(cli, mcp, [_quiet(s) for s in USAGE_STEPS], "--no-telemetry")
    _check(seen)
    assert seen[0].by_mcp["invocations"] >= 3


def _quiet(step: Step) -> Step:
    return Step(["--no-telemetry", *step.cli], step.tool, step.args)


def test_gpu_impact_gives_the_same_json_through_both(twins: tuple[Side, Side]) -> None:
    cli, mcp = twins
    sleeper = subprocess.Popen(["sleep", "60"], cwd=cli.root)
    try:
        step = Step(["gpu", "impact", str(sleeper.pid)], "gpu_impact", {"pid": sleeper.pid})
        mcp.root = cli.root  # the process's folder appears in the report
        _check(_run_both(cli, mcp, [step]))
    finally:
        sleeper.kill()
        sleeper.wait()


def test_an_agent_cannot_create_a_gateless_task_a_person_can(twins: tuple[Side, Side]) -> None:
    """The one deliberate difference, decided in the core by the caller's kind."""
    cli, mcp = twins
    step = Step(
        ["task", "create", "No gate", "--no-gates"],
        "task_create",
        {"title": "No gate", "no_gates": True},
    )
    by_cli, _ = _cli(cli, step)
    assert by_cli["no_gates"] is True

    async def call() -> Any:
        async with mcp_session(mcp.root) as s:
            return await s.call_tool(step.tool, step.args)

    refused = asyncio.run(call())
    assert refused.is_error and "an agent cannot create a task without gates" in text_of(refused)


def test_the_server_reports_a_result_that_breaks_its_schema() -> None:
    from nexus_cli.mcp import server

    with pytest.raises(server.ToolError, match="does not match its JSON Schema"):
        server._check_schema("task_show", {"id": "nx-ab12"})
    server._check_schema("task_show", _a_task())  # a real task passes


def _a_task() -> dict[str, Any]:
    from nexus_cli.tasks.model import Task

    moment = "2026-12-01T00:00:00Z"
    return Task("nx-ab12", "t", created_at=moment, updated_at=moment).to_dict()
