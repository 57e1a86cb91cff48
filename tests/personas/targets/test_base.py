"""Instructions never name a command the target did not get (no phantom ``/commands``)."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from nexus_cli.personas.catalog import available, layers, load
from nexus_cli.personas.plan import Desired
from nexus_cli.personas.targets import desired
from nexus_cli.personas.targets.base import Context, adapt_mentions, read_command
from tests.personas.targets.conftest import GOLDEN

SHIPPED = list(available(layers(None, include_project=False)))
# what a user would type: `/name` or Codex's `/prompts:name`, not a path (`docs/adr`, `/dev/null`)
MENTION = re.compile(r"(?<![\w./~-])/((?:prompts:)?[a-z0-9][a-z0-9-]*)(?![\w/.-])")


def _cases() -> list[tuple[str, str | None, str, bool, bool]]:
    cases = []
    for name in SHIPPED:
        persona = load(name, layers(None, include_project=False))
        for level in [*persona.levels] or [None]:
            for targets in ("claude", "agents", "cursor", "copilot", "claude,agents"):
                cases.append((name, level, targets, False, False))
            cases.append((name, level, "claude", False, True))  # --legacy-commands
            for targets in ("claude", "agents", "claude,agents"):
                cases.append((name, level, targets, True, False))
    return cases


def _written_commands(want: Desired) -> set[str]:
    """What a user can type, derived from the command files actually written."""
    names = set()
    for rel in want.files:
        parts = rel.split("/")
        if rel.startswith(".claude/skills/") and parts[-1] == "SKILL.md":
            names.add(parts[2])
        elif rel.startswith(".claude/commands/") or rel.startswith(".cursor/commands/"):
            names.add(parts[-1].removesuffix(".md"))
        elif rel.startswith(".github/prompts/"):
            names.add(parts[-1].removesuffix(".prompt.md"))
        elif rel.startswith(".codex/prompts/"):
            names.add("prompts:" + parts[-1].removesuffix(".md"))
    return names


def _instruction_texts(want: Desired) -> dict[str, str]:
    texts = {f"block in {rel}": text for rel, text in want.blocks.items()}
    for rel, blocks in want.shared_blocks.items():
        texts.update({f"{name} in {rel}": text for name, text in blocks.items()})
    for rel, state in want.files.items():
        if rel.startswith((".claude/personas/", ".claude/agents/", ".cursor/rules/")) or (
            rel.startswith(".github/instructions/")
        ):
            texts[rel] = state.data.decode()
    return texts


@pytest.mark.parametrize(("name", "level", "targets", "is_global", "legacy"), _cases())
def test_instructions_name_only_commands_that_were_written(
    name: str, level: str | None, targets: str, is_global: bool, legacy: bool
) -> None:
    persona = load(name, layers(None, include_project=False))
    want, _ = desired(persona, persona.pick_level(level), targets.split(","), is_global, legacy)
    written = _written_commands(want)
    for where, text in _instruction_texts(want).items():
        for mention in MENTION.findall(text):
            assert mention in written, f"{where} names /{mention}; written: {sorted(written)}"


def test_every_written_command_is_listed_where_the_target_lists_commands() -> None:
    persona = load("developer", layers(None, include_project=False))
    want, _ = desired(persona, persona.pick_level("l2"), ["cursor"], False)
    rule = want.files[".cursor/rules/developer.mdc"].data.decode()
    assert set(MENTION.findall(rule)) == _written_commands(want)
    assert "/developer-profile" in rule  # a level command


def _command(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.md"
    path.write_text(f"---\ndescription: Do {name}\n---\nbody\n")
    return path


def test_mentions_are_rewritten_or_taken_out(tmp_path: Path) -> None:
    commands = {n: read_command(_command(tmp_path, n)) for n in ("fix-bug", "write-adr")}
    text = (
        "Record ADRs (`/write-adr`).\n"
        "## Slash commands\n- `/fix-bug` - reproduce, fix.\n- `/write-adr` - record.\n"
        "Use /fix-bug for bugs; see docs/fix-bug.md and /dev/null.\n"
    )
    kept = adapt_mentions(text, commands, {"fix-bug": "/dev-fix-bug"})
    assert kept == (
        "Record ADRs.\n"
        "## Slash commands\n- `/dev-fix-bug` - reproduce, fix.\n"
        "Use `/dev-fix-bug` for bugs; see docs/fix-bug.md and /dev/null.\n"
    )
    none = adapt_mentions(text, commands, {})
    assert MENTION.findall(none) == []
    assert "Use the fix-bug task for bugs" in none


def test_a_custom_persona_mentioning_its_commands_gets_them_rewritten(tmp_path: Path) -> None:
    from tests.personas.conftest import write_persona

    folder = write_persona(
        tmp_path / "p" / "rev",
        "name: rev\ninstructions: i.md\ncommands: [c/review.md]\n",
        {"i.md": "Run `/review` after each change.\n", "c/review.md": "---\n---\nReview\n"},
    )
    from nexus_cli.personas.catalog import Layer

    persona = load("rev", [Layer("project", folder.parent)])
    ctx = Context.make(persona, None, ["agents"], False)
    assert ctx.commands[0].description == "The review command"
    for targets, expected in (("agents", "Run the review task"), ("copilot", "`/rev-review`")):
        want, _ = desired(persona, None, [targets], False)
        texts = "".join(_instruction_texts(want).values())
        assert expected in texts


def test_architect_for_cursor_and_copilot_names_only_written_commands(project: Path) -> None:
    from tests.conftest import run_nexus
    from tests.personas.conftest import tree

    before = tree(project)
    result = run_nexus("persona", "add", "software-architect", "--target", "cursor,copilot")
    assert result.exit_code == 0, result.stderr
    cursor = sorted(p.name for p in (project / ".cursor" / "commands").iterdir())
    prompts = sorted(p.name for p in (project / ".github" / "prompts").iterdir())
    commands = ["architecture-review", "performance-audit", "write-adr"]
    assert cursor == [f"software-architect-{c}.md" for c in commands]
    assert prompts == [f"software-architect-{c}.prompt.md" for c in commands]
    written = {f"software-architect-{c}" for c in commands}
    for rel in (
        ".cursor/rules/software-architect.mdc",
        ".github/instructions/software-architect.instructions.md",
    ):
        assert set(MENTION.findall((project / rel).read_text())) == written
    assert not (project / "CLAUDE.md").exists() and not (project / "AGENTS.md").exists()
    assert run_nexus("persona", "remove", "software-architect").exit_code == 0
    assert tree(project) == before


def test_multi_line_frontmatter_values_become_one_line(tmp_path: Path) -> None:
    path = tmp_path / "c.md"
    path.write_text(
        '---\ndescription: "Do it\\n- `/evil` injected"\nargument-hint: |\n  a\n  b\n---\nx\n'
    )
    command = read_command(path)
    assert command.description == "Do it - `/evil` injected"
    assert command.argument_hint == "a b"


GOLDEN_FILES = sorted(p for p in GOLDEN.rglob("*") if p.is_file())


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=lambda p: p.relative_to(GOLDEN).as_posix())
def test_every_golden_file_parses_in_its_format(path: Path) -> None:
    """JSON with a JSON parser, frontmatter with a YAML parser (Cursor's bare globs aside)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        assert isinstance(json.loads(text), dict)
    elif path.suffix == ".toml":
        assert isinstance(tomllib.loads(text), dict)
    elif text.startswith("---\n"):
        head = text[4:].partition("\n---\n")[0]
        if path.suffix == ".mdc":  # globs is a bare comma-separated list, not YAML
            head = "\n".join(x for x in head.splitlines() if not x.startswith("globs:"))
        assert isinstance(yaml.safe_load(head), dict)
        if path.name == "SKILL.md":
            meta = yaml.safe_load(head)
            assert meta["name"] == path.parent.name and 1 <= len(meta["description"]) <= 1024
