"""Property: any sequence of add/remove/switch over any pre-existing user files is reversible.

After every successful ``add`` a second ``add`` changes nothing; a plan with conflicts changes
nothing; and removing everything restores the user's files byte for byte (folders included).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from nexus_cli.errors import ConflictError
from nexus_cli.personas import installer
from nexus_cli.personas.catalog import load
from nexus_cli.personas.installer import Scope, project_scope
from tests.personas.conftest import tree, write_persona

PERSONAS = ["data-scientist", "developer", "designer", "helper"]
LEVELS = [None, "beginner", "l2", "expert"]
TARGET_SETS = [
    None,
    ["claude"],
    ["agents", "copilot"],
    ["cursor"],
    ["claude", "agents", "cursor", "copilot"],
]
RULES = ["Bash(nvidia-smi:*)", "Bash(python -m pytest:*)", "Bash(git diff:*)", "Bash(ls:*)"]

TEXT = st.text(alphabet=st.sampled_from("ab \n\r#<>-!é"), max_size=30)


@st.composite
def settings_json(draw: st.DrawFn) -> bytes:
    data: dict[str, object] = {}
    if draw(st.booleans()):
        data["model"] = "opus"
    if draw(st.booleans()):
        data["permissions"] = {
            sub: draw(st.lists(st.sampled_from(RULES), unique=True, max_size=2))
            for sub in draw(st.lists(st.sampled_from(["allow", "deny"]), unique=True))
        }
    if draw(st.booleans()):
        data["env"] = {"PYTHONUNBUFFERED": draw(st.sampled_from(["1", "0"]))}
    indent = draw(st.sampled_from([None, 2, 4, "\t"]))
    newline = "\n" if draw(st.booleans()) else ""
    return (json.dumps(data, indent=indent) + newline).encode()


USER_FILES = st.fixed_dictionaries(
    {},
    optional={
        "CLAUDE.md": TEXT.map(str.encode),
        "AGENTS.md": TEXT.map(str.encode),
        ".github/copilot-instructions.md": TEXT.map(str.encode),
        ".claude/settings.json": settings_json(),
        "scripts/gpu_monitor.sh": st.just(b"#!/bin/sh\necho mine\n"),
        ".claude/commands/notes.md": TEXT.map(str.encode),
        ".claude/skills/mine/SKILL.md": TEXT.map(str.encode),
        ".claude/agents/mine.md": TEXT.map(str.encode),
        ".cursor/commands/mine.md": TEXT.map(str.encode),
        ".github/instructions/mine.instructions.md": TEXT.map(str.encode),
        ".github/prompts/mine.prompt.md": TEXT.map(str.encode),
    },
)

OPS = st.lists(
    st.tuples(
        st.sampled_from(["add", "add", "remove", "switch"]),
        st.sampled_from(PERSONAS),
        st.sampled_from(LEVELS),
        st.sampled_from(TARGET_SETS),
        st.sampled_from([None, True, False]),  # --legacy-commands / --skills / as recorded
    ),
    max_size=6,
)


def _helper_persona(root: Path) -> None:
    write_persona(
        root / ".nexus" / "personas" / "helper",
        """\
        name: helper
        extends: developer
        instructions: extra.md
        permissions:
          allow: ["Bash(nvidia-smi:*)", "Bash(ls:*)"]
        environment:
          PYTHONUNBUFFERED: "1"
        """,
        {"extra.md": "Extra.\n"},
    )


def _apply(plan: installer.Plan, root: Path) -> bool:
    before = tree(root)
    try:
        installer.apply(plan)
    except ConflictError:
        assert tree(root) == before  # a conflicting plan changes nothing
        event("conflict")
        return False
    event("applied")
    return True


Op = tuple[str, str, str | None, list[str] | None, bool | None]


def _step(scope: Scope, op: Op) -> None:
    kind, name, level, targets, legacy = op
    persona = load(name, scope.search())
    level = level if persona.levels else None
    if kind == "remove":
        if name in installer.active(scope):
            _apply(installer.plan_remove(scope, [name]), scope.root)
        return
    make = installer.plan_add if kind == "add" else installer.plan_switch
    if _apply(make(scope, persona, level, targets, legacy), scope.root):
        again = installer.plan_add(scope, persona, level, targets, legacy)
        assert again.changes == [] and again.conflicts == [], again.to_dict()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(user_files=USER_FILES, ops=OPS)
def test_any_sequence_is_reversible_and_idempotent(
    user_files: dict[str, bytes], ops: list[Op]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for rel, data in user_files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)
        _helper_persona(root)
        original = tree(root)
        scope = project_scope(root)
        for op in ops:
            _step(scope, op)
        remaining = list(installer.active(scope))
        if remaining:
            installer.apply(installer.plan_remove(scope, remaining))
        assert tree(root) == original
        assert not scope.lock_path.exists()
