"""The shared mechanism behind workspaces.json and ports.json: lock, load, atomic replace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nexus_cli.errors import StateError
from nexus_cli.workspaces.jsonstate import load_json


def _names(data: Any) -> list[str]:
    return [row["name"] for row in data["rows"]]


def test_missing_file_gives_the_missing_value_without_parsing(tmp_path: Path) -> None:
    assert load_json(tmp_path / "absent.json", _names, missing=["none"], what="x is", hint="h") == [
        "none"
    ]


def test_document_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text('{"rows": [{"name": "a"}, {"name": "b"}]}')
    assert load_json(path, _names, missing=[], what="x is", hint="h") == ["a", "b"]


def test_unreadable_file_is_a_state_error_with_the_hint(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("{not json")
    with pytest.raises(StateError) as info:
        load_json(path, _names, missing=[], what=f"table {path} is", hint="move it aside")
    assert info.value.message.startswith(f"table {path} is unreadable: ")
    assert info.value.hint == "move it aside"


@pytest.mark.parametrize("text", ['{"rows": [{"nom": "a"}]}', '{"rows": 3}', "null"])
def test_malformed_document_is_a_state_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "state.json"
    path.write_text(text)
    with pytest.raises(StateError, match=r"records .* are malformed: "):
        load_json(path, _names, missing=[], what=f"records {path} are", hint="h")
