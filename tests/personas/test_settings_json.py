"""settings.json merging keeps the user's keys, order and formatting as far as JSON allows."""

from __future__ import annotations

import json

import pytest

from nexus_cli.errors import ConfigError
from nexus_cli.personas import settings_json


@pytest.mark.parametrize(
    "like",
    [
        '{\n  "a": 1\n}\n',
        '{\n    "a": 1\n}',
        '{\n\t"a": 1\n}\n',
        '{"a": 1}',
        '{"a":1}\n',
    ],
)
def test_render_reuses_indentation_and_final_newline(like: str) -> None:
    data = json.loads(like)
    assert settings_json.render(data, like) == like


def test_render_keeps_key_order() -> None:
    data = json.loads('{"z": 1, "a": {"y": 2, "b": 3}}')
    data["m"] = 4
    assert list(json.loads(settings_json.render(data, ""))) == ["z", "a", "m"]


def test_add_and_drop_rules_track_creation() -> None:
    data: dict[str, object] = {"model": "x"}
    record: dict[str, object] = {"created_keys": []}
    assert settings_json.add_rule(data, "allow", "Bash(ls:*)", record) is None
    assert data == {"model": "x", "permissions": {"allow": ["Bash(ls:*)"]}}
    settings_json.drop_rule(data, "allow", "Bash(ls:*)")
    settings_json.prune_created(data, record)
    assert data == {"model": "x"}


def test_users_rule_is_reported_as_theirs() -> None:
    data = {"permissions": {"allow": ["Bash(ls:*)"]}}
    assert settings_json.add_rule(data, "allow", "Bash(ls:*)", {}) == "user"


def test_env_conflicts() -> None:
    record: dict[str, object] = {}
    data: dict[str, object] = {"env": {"A": "1"}}
    assert settings_json.set_env(data, "A", "1", record) is None  # same value: fine, not owned
    assert settings_json.set_env(data, "A", "2", record) == "env A is already set to '1'"
    assert settings_json.set_env(data, "B", "x", record) is None
    assert "already set by" in (settings_json.set_env(data, "B", "y", record) or "")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "expected a JSON object"),
        ('{"permissions": []}', "key 'permissions' must be an object"),
        ('{"permissions": {"allow": "x"}}', "key 'permissions.allow' must be a list"),
        ('{"env": 3}', "key 'env' must be an object"),
        ("{,}", "not valid JSON"),
    ],
)
def test_parse_refuses_what_it_cannot_merge_safely(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match="settings.json: .*" + message.replace("(", r"\(")):
        settings_json.parse(text, ".claude/settings.json")
