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


KINDS = [
    (validate.workspace_name, "workspace name", validate.WORKSPACE_RULES),
    (validate.service_name, "service name", validate.SERVICE_RULES),
    (validate.persona_name, "persona name", validate.SLUG_RULES),
    (validate.template_name, "template name", validate.SLUG_RULES),
    (validate.workflow_name, "workflow name", validate.SLUG_RULES),
    (validate.task_id, "task id", validate.TASK_ID_RULES),
    (validate.project_id, "project id", "a project id is 8-32 lowercase hex digits"),
]


@pytest.mark.parametrize(("validator", "kind", "rules"), KINDS)
def test_messages_name_the_kind_and_the_rules(validator: object, kind: str, rules: str) -> None:
    with pytest.raises(UsageError) as info:
        validator("-bad")  # type: ignore[operator]
    assert info.value.message == f"invalid {kind} '-bad': it starts with a dash"
    assert info.value.hint == rules
    assert info.value.exit_code == 2
    with pytest.raises(StateError) as state:
        validator("../x", source="/p/.nexus/state/workspaces.json")  # type: ignore[operator]
    assert state.value.message == (
        f"/p/.nexus/state/workspaces.json: invalid {kind} '../x': it contains a slash"
    )
    assert state.value.hint == "the file was edited or is corrupt; fix or remove that entry"
    with pytest.raises(StateError):
        validator("", source="/home/u/.claude/nexus-personas.lock")  # type: ignore[operator]
    with pytest.raises(ConfigError) as config:
        validator("a..b", source="/p/.nexus/workflows/x.yaml")  # type: ignore[operator]
    assert config.value.message == (
        f"/p/.nexus/workflows/x.yaml: invalid {kind} 'a..b': it contains '..'"
    )


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "it is empty"),
        ("a\x1fb", "it contains control characters or undecodable bytes"),
        ("a\x7fb", "it contains control characters or undecodable bytes"),
        ("a\x00", "it contains control characters or undecodable bytes"),
        ("a\udcffb", "it contains control characters or undecodable bytes"),
        ("a\ud800", "it contains control characters or undecodable bytes"),
        ("a\udfff", "it contains control characters or undecodable bytes"),
        ("-a", "it starts with a dash"),
        ("a/b", "it contains a slash"),
        ("a\\b", "it contains a slash"),
        ("a..b", "it contains '..'"),
        ("a b", "it has characters outside those allowed or is too long"),
        ("a~", "it has characters outside those allowed or is too long"),
        ("a\ue000", "it has characters outside those allowed or is too long"),
        ("x" * 64, "it has characters outside those allowed or is too long"),
        ("x.", "it ends with '.' or '.lock'"),
        ("x.lock", "it ends with '.' or '.lock'"),
    ],
)
def test_each_problem_is_named(value: str, problem: str) -> None:
    with pytest.raises(UsageError) as info:
        validate.workspace_name(value)
    assert info.value.message.endswith(": " + problem)


def test_long_values_are_shortened_in_messages() -> None:
    with pytest.raises(UsageError) as info:
        validate.persona_name("a" * 100 + "/")
    shown = info.value.message.split(": ")[0].removeprefix("invalid persona name ")
    assert len(shown) == 80 and shown.endswith("...")
    with pytest.raises(UsageError) as exact:
        validate.persona_name("/" + "a" * 77)
    assert "..." not in exact.value.message  # repr is exactly 80 characters: kept whole


def test_type_problem_names_the_type() -> None:
    with pytest.raises(ConfigError, match="expected text, found int"):
        validate.task_id(3, source="tasks.jsonl")
    with pytest.raises(UsageError, match="expected text, found NoneType"):
        validate.task_id(None)


def test_boundaries_of_each_pattern() -> None:
    assert validate.workspace_name("a" * 63) == "a" * 63
    assert validate.workspace_name("0.a_b-c") == "0.a_b-c"
    assert not validate.is_valid(validate.workspace_name, "_a")
    assert validate.service_name("a_b-c" + "d" * 58) == "a_b-c" + "d" * 58
    assert not validate.is_valid(validate.service_name, "a.b")
    assert not validate.is_valid(validate.service_name, "a" * 64)
    assert validate.service_name("x.lock".replace(".", "-")) == "x-lock"
    for slug in (validate.persona_name, validate.template_name, validate.workflow_name):
        assert slug("a-" + "b" * 61) == "a-" + "b" * 61
        assert not validate.is_valid(slug, "a_b")
        assert not validate.is_valid(slug, "a.b")
        assert not validate.is_valid(slug, "a" * 64)
    assert validate.task_id("nx-" + "z" * 16) == "nx-" + "z" * 16
    for bad in ("nx-abc", "nx-" + "a" * 17, "NX-abcd", "xx-abcd", "nx_abcd", "nx-ab.d"):
        assert not validate.is_valid(validate.task_id, bad)
    assert validate.project_id("f" * 32) == "f" * 32
    for bad in ("abcdef1", "a" * 33, "ABCDEF12", "abcdefg1"):
        assert not validate.is_valid(validate.project_id, bad)


def test_is_valid_only_swallows_nexus_errors() -> None:
    assert validate.is_valid(validate.task_id, "nx-abcd") is True
    assert validate.is_valid(validate.task_id, "bad") is False

    def broken(value: object) -> str:
        raise RuntimeError("not a NexusError")

    with pytest.raises(RuntimeError):
        validate.is_valid(broken, "x")


@pytest.mark.parametrize(
    "bad", ["a\nb", "a\rb", "a\x00b", "\x1b[2J", "a\x85b", "a\udcffb", "a\x7f"]
)
def test_plain_text_refuses_control_characters(bad: str) -> None:
    with pytest.raises(UsageError, match="--output contains a control character"):
        validate.plain_text(bad, what="--output")


def test_plain_text_keeps_ordinary_text() -> None:
    text = "/tmp/r é {date} 100% 'quoted' $(x)"
    assert validate.plain_text(text, what="--output") is text


@pytest.mark.parametrize("key", ["PG_VERSION", "_x", "a1"])
def test_template_variable_keys(key: str) -> None:
    assert validate.template_variables({key: "v"}) == {key: "v"}


@pytest.mark.parametrize("key", ["", "1X", "A-B", "A B", "Ä", "A\n"])
def test_bad_template_variable_keys_are_usage_errors(key: str) -> None:
    with pytest.raises(UsageError, match="invalid template variable name"):
        validate.template_variables({key: "v"})


@pytest.mark.parametrize("argv", [[], [""], "ls", [1], None])
def test_a_command_is_a_non_empty_argument_list(argv: object) -> None:
    with pytest.raises(UsageError, match="non-empty list of arguments"):
        validate.command_argv(argv)
    assert validate.command_argv(("ls", "-la")) == ["ls", "-la"]


@pytest.mark.parametrize(
    ("value", "ref"),
    [("nx-ab12", "nx-ab12"), ("AB1", "nx-ab1"), (" ab12 ", "nx-ab12"), ("nx-0", "nx-0")],
)
def test_task_refs_are_ids_or_their_start_normalised(value: str, ref: str) -> None:
    assert validate.task_ref(value) == ref


@pytest.mark.parametrize(
    "value", ["", "nx-", "nx-----", "../x", "--lock", "ab\n12", "nx-" + "a" * 17, 7]
)
def test_task_refs_refuse_what_no_task_id_starts_with(value: object) -> None:
    with pytest.raises(UsageError, match="invalid task id"):
        validate.task_ref(value)
