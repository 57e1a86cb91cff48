"""Parse and check a workflow file. Workflow files are repository content: nothing is trusted.

Every error names the file and the key (``stages[2].needs``) so it can be fixed. Names go through
:mod:`nexus_cli.validate`; stage ids, variable names, types, unknown keys, unknown or cyclic
``needs`` are all checked here, before any task is created.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexus_cli import validate
from nexus_cli.config_yaml import parse_yaml
from nexus_cli.errors import ConfigError

STAGE_ID_PATTERN = validate.SLUG_PATTERN
VAR_PATTERN = re.compile(r"^[a-z_][a-z0-9_]{0,31}$")
TESTS_GATE = "@tests"  # the project's detected test commands
MAX_STAGES = 50

_TOP_KEYS = {"name", "description", "kind", "priority", "vars", "stages"}
# ``kind: incident`` marks an incident workflow: its runs are incidents, and `stats --workflows`
# and `insights` report their time to resolution (docs/telemetry.md).
KINDS = ("incident",)
_STAGE_KEYS = {"id", "persona", "title", "description", "priority", "gates", "needs"}
# A priority is 0 (highest) to 4, written ``1`` or ``p1`` (``P1``); as text it may hold
# placeholders (``"{severity}"``), checked once the variables are known (instantiate.py).
_PRIORITY = re.compile(r"^[pP]?([0-4])$")
_VAR_KEYS = {"required", "default", "description"}


@dataclass(frozen=True)
class Var:
    name: str
    required: bool = False
    default: str | None = None
    description: str = ""


@dataclass(frozen=True)
class Stage:
    id: str
    persona: str
    title: str
    description: str = ""
    gates: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    priority: str | None = None  # None: the workflow's


@dataclass
class Workflow:
    name: str
    description: str
    path: Path
    origin: str
    kind: str | None = None
    priority: str | None = None  # None: the tasks' default
    vars: dict[str, Var] = field(default_factory=dict)
    stages: list[Stage] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "origin": self.origin,
            "path": str(self.path),
            "kind": self.kind,
            "priority": self.priority,
            "vars": {
                v.name: {"required": v.required, "default": v.default, "description": v.description}
                for v in self.vars.values()
            },
            "stages": [
                {
                    "id": s.id,
                    "persona": s.persona,
                    "title": s.title,
                    "description": s.description,
                    "priority": s.priority,
                    "gates": list(s.gates),
                    "needs": list(s.needs),
                }
                for s in self.stages
            ],
        }


def _fail(path: Path, key: str, why: str) -> ConfigError:
    return ConfigError(f"{path}: key '{key}' {why}", hint="fix the workflow file and run again")


def _text(path: Path, data: dict[str, Any], key: str, where: str, *, required: bool) -> str:
    value = data.get(key)
    if value is None:
        if required:
            raise _fail(path, f"{where}{key}", "is required")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _fail(path, f"{where}{key}", f"must be text, not {type(value).__name__}")
    return str(value)


def _unknown(path: Path, data: dict[str, Any], known: set[str], where: str) -> None:
    for key in data:
        if key not in known:
            raise _fail(path, f"{where}{key}", f"is not known (known: {', '.join(sorted(known))})")


def parse(path: Path, text: str, origin: str) -> Workflow:
    """Parse the YAML ``text`` of ``path`` into a checked :class:`Workflow`."""
    data = parse_yaml(text, path, what="workflow file")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a workflow file must be a mapping")
    _unknown(path, data, _TOP_KEYS, "")
    name = validate.workflow_name(data.get("name"), source=path)
    if path.suffix in (".yaml", ".yml") and path.stem != name:
        raise _fail(path, "name", f"is {name!r} but the file is named {path.name}")
    flow = Workflow(name, _text(path, data, "description", "", required=False), path, origin)
    flow.kind = _kind(path, data.get("kind"))
    flow.priority = _priority(path, data, "")
    flow.vars = _vars(path, data.get("vars"))
    flow.stages = _stages(path, data.get("stages"))
    check_needs(path, flow.stages)
    return flow


def _kind(path: Path, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value not in KINDS:
        raise _fail(path, "kind", f"must be one of: {', '.join(KINDS)} (or left out)")
    return value


def priority_value(text: str) -> int | None:
    """``"1"``, ``"p1"`` or ``"P1"`` -> 1; None for anything that is not a priority 0-4."""
    match = _PRIORITY.fullmatch(text.strip())
    return int(match.group(1)) if match else None


def _priority(path: Path, data: dict[str, Any], where: str) -> str | None:
    if data.get("priority") is None:
        return None
    text = _text(path, data, "priority", where, required=True)
    if "{" not in text and priority_value(text) is None:
        raise _fail(
            path, f"{where}priority", f"is {text!r:.40}: it must be 0 (highest) to 4, or p0-p4"
        )
    return text


def _vars(path: Path, value: Any) -> dict[str, Var]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(path, "vars", "must be a mapping of variable names")
    found: dict[str, Var] = {}
    for name, spec in value.items():
        if not isinstance(name, str) or not VAR_PATTERN.fullmatch(name):
            raise _fail(path, f"vars.{name}", "is not a valid variable name (a-z, 0-9, _)")
        spec = {} if spec is None else spec
        if not isinstance(spec, dict):
            raise _fail(path, f"vars.{name}", "must be a mapping (required/default/description)")
        _unknown(path, spec, _VAR_KEYS, f"vars.{name}.")
        required = spec.get("required", False)
        if not isinstance(required, bool):
            raise _fail(path, f"vars.{name}.required", "must be true or false")
        default = spec.get("default")
        if default is not None:
            default = _text(path, spec, "default", f"vars.{name}.", required=True)
        description = _text(path, spec, "description", f"vars.{name}.", required=False)
        found[name] = Var(name, required, default, description)
    return found


def _stages(path: Path, value: Any) -> list[Stage]:
    if not isinstance(value, list) or not value:
        raise _fail(path, "stages", "must be a non-empty list")
    if len(value) > MAX_STAGES:
        raise _fail(path, "stages", f"has more than {MAX_STAGES} stages")
    stages: list[Stage] = []
    for index, item in enumerate(value):
        where = f"stages[{index}]."
        if not isinstance(item, dict):
            raise _fail(path, f"stages[{index}]", "must be a mapping")
        _unknown(path, item, _STAGE_KEYS, where)
        stage_id = _text(path, item, "id", where, required=True)
        if not STAGE_ID_PATTERN.fullmatch(stage_id):
            raise _fail(path, f"{where}id", f"{stage_id!r} is invalid: {validate.SLUG_RULES}")
        if any(s.id == stage_id for s in stages):
            raise _fail(path, f"{where}id", f"repeats the stage id {stage_id!r}")
        persona = validate.persona_name(item.get("persona"), source=f"{path}: {where}persona")
        gates = _string_list(path, item.get("gates"), f"{where}gates")
        if not gates:
            raise _fail(
                path, f"{where}gates", "must list at least one gate (a stage needs a check)"
            )
        needs_raw = item.get("needs")
        needs: tuple[str, ...]
        if needs_raw is None:
            needs = (stages[-1].id,) if stages else ()
        else:
            needs = tuple(_string_list(path, needs_raw, f"{where}needs"))
        stages.append(
            Stage(
                id=stage_id,
                persona=persona,
                title=_text(path, item, "title", where, required=False) or stage_id,
                description=_text(path, item, "description", where, required=False),
                gates=tuple(gates),
                needs=needs,
                priority=_priority(path, item, where),
            )
        )
    return stages


def _string_list(path: Path, value: Any, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(x, str) and x.strip() for x in value):
        raise _fail(path, key, "must be a list of non-empty strings")
    return list(value)


def check_needs(path: Path, stages: list[Stage]) -> None:
    """Refuse ``needs`` naming unknown stages, a stage itself, or forming a cycle."""
    ids = {s.id for s in stages}
    for index, stage in enumerate(stages):
        for need in stage.needs:
            if need not in ids:
                raise _fail(path, f"stages[{index}].needs", f"names unknown stage {need!r}")
            if need == stage.id:
                raise _fail(path, f"stages[{index}].needs", "names the stage itself")
    order = topological(stages)
    if order is None:
        raise _fail(path, "stages", "have a cycle in their needs")


def topological(stages: list[Stage]) -> list[Stage] | None:
    """Stages ordered so that each comes after what it needs (file order otherwise); None on a cycle."""
    done: list[Stage] = []
    placed: set[str] = set()
    pending = list(stages)
    while pending:
        ready = [s for s in pending if all(n in placed for n in s.needs)]
        if not ready:
            return None
        for stage in ready:
            done.append(stage)
            placed.add(stage.id)
        pending = [s for s in pending if s.id not in placed]
    return done
