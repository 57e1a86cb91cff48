"""The persona model: permission unions, choosing a level, files that must stay in the folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexus_cli.errors import ConfigError, UsageError
from nexus_cli.personas.model import NAME_RE, Level, Permissions, Persona, persona_path
from nexus_cli.personas.safety import PathEscapeError


def _persona(levels: dict[str, Level] | None = None, default: str | None = None) -> Persona:
    return Persona(
        name="dev",
        display_name="Dev",
        description="",
        origin="builtin",
        folder=Path("/nowhere"),
        extends=None,
        instructions="",
        commands=(),
        files=(),
        permissions=Permissions(),
        levels=levels or {},
        default_level=default,
    )


def _level(name: str) -> Level:
    return Level(name, "", "", (), Permissions())


def test_permission_union_keeps_order_and_drops_repeats() -> None:
    base = Permissions(allow=("Read", "Edit"), deny=("Bash(rm:*)",))
    own = Permissions(allow=("Edit", "Write"), ask=("Bash",))
    assert base.union(own) == Permissions(
        allow=("Read", "Edit", "Write"), ask=("Bash",), deny=("Bash(rm:*)",)
    )


def test_pick_level_asked_then_default_then_first() -> None:
    levels = {"l1": _level("l1"), "l2": _level("l2")}
    assert _persona(levels).pick_level(None) == levels["l1"]
    assert _persona(levels, default="l2").pick_level(None) == levels["l2"]
    assert _persona(levels, default="l2").pick_level("l1") == levels["l1"]
    with pytest.raises(UsageError, match="no level 'l9'"):
        _persona(levels).pick_level("l9")


def test_pick_level_without_levels() -> None:
    assert _persona().pick_level(None) is None
    with pytest.raises(UsageError, match="no skill levels"):
        _persona().pick_level("l1")


def test_names_are_lowercase_words() -> None:
    assert NAME_RE.match("data-scientist")
    assert not NAME_RE.match("Data")
    assert not NAME_RE.match("-dash")


def test_persona_path_must_be_a_file_inside_the_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("x")
    (tmp_path / "sub").mkdir()
    assert persona_path(tmp_path, "notes.md", "files") == (tmp_path / "notes.md").resolve()
    with pytest.raises(ConfigError, match="not a file"):
        persona_path(tmp_path, "sub", "files")
    with pytest.raises(ConfigError, match="relative file path"):
        persona_path(tmp_path, 3, "files")
    with pytest.raises(PathEscapeError) as caught:
        persona_path(tmp_path, "../outside.md", "files")
    assert caught.value.hint == "persona files must stay inside its folder"
