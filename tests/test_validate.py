from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_cli import validate
from nexus_cli.errors import ConfigError, StateError, UsageError

VALIDATORS = [
    validate.workspace_name,
    validate.service_name,
    validate.persona_name,
    validate.template_name,
    validate.workflow_name,
    validate.task_id,
    validate.project_id,
]

HOSTILE = [
    "",
    "../../../x",
    "-x",
    "--lock",
    "a/b",
    "a\\b",
    "x\x1b[2J",
    "a\x00",
    "é",
    " a",
    "a" * 200,
    "..",
    "\udcff",
    "A",
]


@pytest.mark.parametrize("validator", VALIDATORS)
@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_names_refused(validator: object, value: str) -> None:
    with pytest.raises(UsageError):
        validator(value)  # type: ignore[operator]


@pytest.mark.parametrize("value", [None, 3, ["x"], {"a": 1}])
def test_non_strings_read_back_name_their_file(value: object) -> None:
    with pytest.raises(StateError, match=r"workspaces\.json"):
        validate.workspace_name(value, source="/p/.nexus/state/workspaces.json")
    with pytest.raises(ConfigError, match=r"tasks\.jsonl"):
        validate.task_id(value, source="/p/.nexus/tasks.jsonl")


def test_valid_names_pass_through() -> None:
    assert validate.workspace_name("feature-auth.v2") == "feature-auth.v2"
    assert validate.task_id("nx-0ab9") == "nx-0ab9"
    assert validate.project_id("0123abcd") == "0123abcd"
    assert validate.persona_name("data-scientist") == "data-scientist"
    for bad in ("x.lock", "x."):
        assert not validate.is_valid(validate.workspace_name, bad)


@given(st.text(max_size=70))
def test_accepted_workspace_names_are_safe_everywhere(value: str) -> None:
    if not validate.is_valid(validate.workspace_name, value):
        return
    assert "/" not in value and ".." not in value and not value.startswith("-")
    assert value.isascii() and value == value.lower() and value.isprintable()
    assert 1 <= len(value) <= 63


@given(st.text(max_size=20))
def test_accepted_task_ids_are_plain(value: str) -> None:
    if validate.is_valid(validate.task_id, value):
        assert value.startswith("nx-") and value.isalnum() is False and value.isascii()


@pytest.mark.parametrize(
    "bad", ["a\nb", "a\rb", "a\x00b", "\x1b[2J", "a\x85b", "a\udcffb", "a\x7f"]
)
def test_plain_text_refuses_control_characters(bad: str) -> None:
    with pytest.raises(UsageError, match="--output contains a control character"):
        validate.plain_text(bad, what="--output")


def test_plain_text_keeps_ordinary_text() -> None:
    text = "/tmp/r é {date} 100% 'quoted' $(x)"
    assert validate.plain_text(text, what="--output") is text
