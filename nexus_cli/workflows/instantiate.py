"""`workflow run`: turn a checked workflow into one gated task per stage, chained by ``needs``.

Everything is checked before the first task is created: variables, placeholders, personas, the
workspace and the gates, so a run either creates the whole chain or nothing.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from nexus_cli.errors import ConfigError, NotFoundError, UsageError
from nexus_cli.personas.catalog import available, layers
from nexus_cli.tasks import lifecycle
from nexus_cli.tasks.gates import detect_default_gates
from nexus_cli.tasks.labels import LABEL_PERSONA, LABEL_STAGE, LABEL_WORKFLOW
from nexus_cli.tasks.model import Gate, Task
from nexus_cli.tasks.provenance import VIA_WORKFLOW
from nexus_cli.tasks.store import TaskStore
from nexus_cli.workflows.schema import TESTS_GATE, Stage, Workflow, priority_value, topological
from nexus_cli.workspaces.handle import Workspace

PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]{0,31})\}")
MAX_VAR_LENGTH = 200


@dataclass(frozen=True)
class PlannedTask:
    stage: Stage
    title: str
    description: str
    gates: tuple[str, ...]
    priority: int = lifecycle.NewTask.priority


def parse_assignments(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``K=V`` strings from the command line into a mapping."""
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--var {pair!r} is not KEY=VALUE")
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in value) or len(value) > MAX_VAR_LENGTH:
            raise UsageError(
                f"--var {key}: the value must be one line of at most {MAX_VAR_LENGTH} characters"
            )
        values[key] = value
    return values


def resolve_vars(flow: Workflow, given: dict[str, str]) -> dict[str, str]:
    for key in given:
        if key not in flow.vars:
            known = ", ".join(flow.vars) or "none"
            raise UsageError(
                f"workflow {flow.name} has no variable {key!r} (its variables: {known})"
            )
    values: dict[str, str] = {}
    for var in flow.vars.values():
        if var.name in given:
            values[var.name] = given[var.name]
        elif var.default is not None:
            values[var.name] = var.default
        elif var.required:
            raise UsageError(
                f"workflow {flow.name} needs --var {var.name}=VALUE",
                hint=var.description or f"see `nexus workflow show {flow.name}`",
            )
        else:
            values[var.name] = ""
    return values


def _fill(flow: Workflow, text: str, values: dict[str, str], key: str, *, shell: bool) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            if shell:  # not ours: shell syntax such as ${HOME} or {a,b} stays as written
                return match.group(0)
            raise ConfigError(f"{flow.path}: key '{key}' uses {{{name}}}, which is not in vars")
        return shlex.quote(values[name]) if shell else values[name]

    return PLACEHOLDER.sub(replace, text)


def _priority(flow: Workflow, stage: Stage, values: dict[str, str], index: int) -> int:
    """The stage's priority (else the workflow's, else the tasks' default), placeholders filled."""
    written, key = stage.priority, f"stages[{index}].priority"
    if written is None:
        written, key = flow.priority, "priority"
    if written is None:
        return lifecycle.NewTask.priority
    text = _fill(flow, written, values, key, shell=False)
    found = priority_value(text)
    if found is None:
        raise UsageError(
            f"workflow {flow.name}: its {key} {written!r} comes out as {text!r:.40}, "
            "not a priority 0 (highest) to 4 or p0-p4",
            hint="set the variable it uses to one of those, or pass --priority",
        )
    return found


def plan(
    flow: Workflow, values: dict[str, str], gate_root: Path, priority: int | None = None
) -> list[PlannedTask]:
    """The tasks to create, in dependency order, with placeholders filled and gates expanded;
    ``priority`` (given on the command line) overrides what the workflow says."""
    detected: list[str] | None = None
    planned = []
    order = topological(flow.stages) or []
    for stage in order:
        index = flow.stages.index(stage)
        gates: list[str] = []
        for gate in stage.gates:
            if gate.strip() == TESTS_GATE:
                detected = detect_default_gates(gate_root) if detected is None else detected
                if not detected:
                    raise UsageError(
                        f"stage {stage.id}: {TESTS_GATE} found no test command in {gate_root}",
                        hint="add tests (pytest, npm test, make test...) or copy the workflow to "
                        f".nexus/workflows/{flow.name}.yaml and list its gates",
                    )
                gates.extend(g for g in detected if g not in gates)
            else:
                gates.append(_fill(flow, gate, values, f"stages[{index}].gates", shell=True))
        title = _fill(flow, stage.title, values, f"stages[{index}].title", shell=False)
        desc = _fill(flow, stage.description, values, f"stages[{index}].description", shell=False)
        chosen = _priority(flow, stage, values, index) if priority is None else priority
        planned.append(PlannedTask(stage, title, desc, tuple(gates), chosen))
    return planned


def check_personas(flow: Workflow, project_root: Path) -> None:
    known = available(layers(project_root))
    for index, stage in enumerate(flow.stages):
        if stage.persona not in known:
            raise ConfigError(
                f"{flow.path}: key 'stages[{index}].persona' names unknown persona "
                f"{stage.persona!r}",
                hint="`nexus persona list` shows the personas you can use",
            )


def workspace_root(store: TaskStore, workspace: str | None) -> Path:
    if workspace is None:
        return store.project.root
    path = Workspace(store.project, workspace).existing_worktree()
    if path is None:
        raise NotFoundError(
            f"workspace {workspace!r} has no worktree",
            hint=f"create it first: `nexus workspace create {workspace}`",
        )
    return path


def run(
    store: TaskStore,
    flow: Workflow,
    given: dict[str, str],
    actor: str,
    workspace: str | None,
    priority: int | None = None,
) -> list[Task]:
    """Create the stage tasks of ``flow``; returns them in dependency order."""
    values = resolve_vars(flow, given)
    check_personas(flow, store.project.root)
    planned = plan(flow, values, workspace_root(store, workspace), priority)
    created: dict[str, Task] = {}
    for item in planned:
        stage = item.stage
        spec = lifecycle.NewTask(
            title=item.title,
            description=item.description,
            priority=item.priority,
            depends_on=tuple(created[n].id for n in stage.needs),
            gates=tuple(Gate(g) for g in item.gates),
            workspace=workspace,
            labels=(
                f"{LABEL_WORKFLOW}{flow.name}",
                f"{LABEL_STAGE}{stage.id}",
                f"{LABEL_PERSONA}{stage.persona}",
            ),
            via=VIA_WORKFLOW,  # from a committed file: its gates wait for a person's approval
        )
        created[stage.id] = lifecycle.create(store, spec, actor)
    return list(created.values())
