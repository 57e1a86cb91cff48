"""The text-level JSON/JSONC edit: entries go in as insertions and come out exactly."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexus_cli import config_json
from nexus_cli.errors import ConfigError

SERVER = {"command": "nexus", "args": ["mcp"]}
ENTRY = {"path": ["mcpServers"], "key": "nexus", "value": SERVER}
HOOK = {"path": ["hooks", "SessionStart"], "item": {"hooks": [{"type": "command"}]}}

scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)
documents = st.dictionaries(st.text(max_size=6), values, max_size=4).map(
    lambda d: {k: v for k, v in d.items() if k not in ("mcpServers", "hooks")}
)


@settings(max_examples=150, deadline=None)
@given(
    data=documents,
    servers=st.none() | st.dictionaries(st.sampled_from(["a", "b"]), values, max_size=2),
    indent=st.sampled_from([None, 2, 4, "\t"]),
    newline=st.booleans(),
)
def test_add_then_undo_gives_back_every_byte(
    data: dict[str, Any], servers: dict[str, Any] | None, indent: Any, newline: bool
) -> None:
    if servers is not None:
        data = {**data, "mcpServers": servers}
    text = json.dumps(data, indent=indent, ensure_ascii=False) + ("\n" if newline else "")
    entries = config_json.missing(text, [ENTRY, HOOK], "f", jsonc=False)
    after, inserts, created = config_json.add(text, entries, "f", jsonc=False)
    parsed = json.loads(after)
    assert parsed["mcpServers"]["nexus"] == SERVER
    assert parsed["hooks"]["SessionStart"] == [HOOK["item"]]
    assert {k: v for k, v in parsed.items() if k not in ("mcpServers", "hooks")} == {
        k: v for k, v in data.items() if k != "mcpServers"
    }
    assert config_json.undo(after, inserts) == text
    removed = config_json.remove(after, entries, created, "f", jsonc=False)
    assert json.loads(removed) == data


def test_jsonc_comments_and_trailing_commas() -> None:
    text = '{\n  // c\n  "servers": {"a": 1,}, /* d */\n}\n'
    assert config_json.parse(text, "f", jsonc=True) == {"servers": {"a": 1}}
    with pytest.raises(ConfigError, match="not valid JSON"):
        config_json.parse(text, "f", jsonc=False)
    entry = {"path": ["servers"], "key": "nexus", "value": SERVER}
    after, inserts, _ = config_json.add(text, [entry], "f", jsonc=True)
    assert "// c" in after and "/* d */" in after
    assert config_json.parse(after, "f", jsonc=True)["servers"]["nexus"] == SERVER
    assert config_json.undo(after, inserts) == text


def test_a_key_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(ConfigError, match="must be an object"):
        config_json.missing('{"mcpServers": []}', [ENTRY], "f", jsonc=False)


@pytest.mark.parametrize("opening", ["[", '{"a": '])
def test_a_deeply_nested_document_is_a_config_error(opening: str) -> None:
    closing = "]" if opening == "[" else "}"
    text = '{"x": ' + opening * 5000 + "1" + closing * 5000 + "}"
    with pytest.raises(ConfigError, match="nested more than 200 levels"):  # a RecursionError
        config_json.parse(text, "devcontainer.json", jsonc=True)
    shallow = '{"x": ' + opening * 150 + "1" + closing * 150 + "}"
    assert "x" in config_json.parse(shallow, "devcontainer.json", jsonc=True)
