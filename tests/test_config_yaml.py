"""The shared YAML loader: 'file: problem' ConfigErrors with line numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexus_cli.config_yaml import (
    MAX_YAML_NODES,
    dump_yaml,
    key_error,
    load_yaml_mapping,
    parse_yaml_mapping,
)
from nexus_cli.errors import ConfigError


def test_mapping_is_returned_and_empty_file_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("a: 1\nb: [x]\n")
    assert load_yaml_mapping(path, what="template") == {"a": 1, "b": ["x"]}
    path.write_text("")
    assert load_yaml_mapping(path, what="template") == {}


def test_numbers_with_colons_are_text_as_in_yaml_1_2(tmp_path: Path) -> None:
    """PyYAML (YAML 1.1) reads `22:22` as 1342 and `1:30` as 90; Compose (YAML 1.2) and every
    person writing a port mapping or a time read text. The other numbers read as before, with
    YAML 1.2's additions that Compose (go-yaml) reads: `0o17` and `1e3` without a dot."""
    path = tmp_path / "a.yaml"
    path.write_text(
        "ports: [22:22, '8080:80', 80:80, 1:30, 1:30.5]\n"
        "numbers: [12, -3, 0x1f, 0b11, 017, 1_000, 1.5, -0.5e+3, .inf, 1e3, 0o17, 2E-1, -.5]\n"
        "text: [1e3x, 0o8, 1e, e3, 0x]\n"
    )
    data = load_yaml_mapping(path, what="template")
    assert data["ports"] == ["22:22", "8080:80", "80:80", "1:30", "1:30.5"]
    numbers = [12, -3, 31, 3, 15, 1000, 1.5, -500.0, float("inf"), 1000.0, 15, 0.2, -0.5]
    assert data["numbers"] == numbers
    assert data["text"] == ["1e3x", "0o8", "1e", "e3", "0x"]


def test_only_true_and_false_are_booleans_as_in_yaml_1_2(tmp_path: Path) -> None:
    """PyYAML (YAML 1.1) reads `yes`, `no`, `on` and `off` as booleans: `DEBUG: yes` reached a
    container as "true", a service named `off` became the key False. Compose (YAML 1.2) reads
    text."""
    path = tmp_path / "a.yaml"
    path.write_text(
        "flags: [true, True, TRUE, false, False, FALSE]\n"
        "text: [yes, no, on, off, y, n, Yes, NO, 'true']\n"
        "off: {restart: no}\n"
    )
    data = load_yaml_mapping(path, what="template")
    assert data["flags"] == [True, True, True, False, False, False]
    assert data["text"] == ["yes", "no", "on", "off", "y", "n", "Yes", "NO", "true"]
    assert data["off"] == {"restart": "no"}


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("a: 1\nb: [unclosed\nc: 2\n")
    with pytest.raises(ConfigError) as info:
        load_yaml_mapping(path, what="template")
    assert info.value.message.startswith(f"{path}: invalid YAML at line 3, column 2 near key 'c': ")


@pytest.mark.parametrize("text", ["- a\n- b\n", "just text\n", "3\n"])
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str) -> None:
    path = tmp_path / "list.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="expected a mapping at the top level of the template"):
        load_yaml_mapping(path, what="template")


def test_unreadable_and_undecodable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read template"):
        load_yaml_mapping(tmp_path / "missing.yaml", what="template")
    path = tmp_path / "latin.yaml"
    path.write_bytes(b"a: \xff\xfe\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_yaml_mapping(path, what="template")


def test_python_tags_are_not_loaded(tmp_path: Path) -> None:
    path = tmp_path / "evil.yaml"
    path.write_text("a: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_yaml_mapping(path, what="template")


def test_key_error_names_file_and_key(tmp_path: Path) -> None:
    error = key_error(tmp_path / "t.yaml", "services.db.image", "expected text")
    assert error.message == f"{tmp_path / 't.yaml'}: services.db.image: expected text"


def _laughs(levels: int) -> str:
    """A "billion laughs": each anchor holds nine aliases of the one before it."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_a_billion_laughs_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(_laughs(9))  # 9**9 "lol"s in 400 bytes
    with pytest.raises(ConfigError) as info:
        load_yaml_mapping(path, what="template")
    assert f"aliases expand to more than {MAX_YAML_NODES:,} nodes" in info.value.message
    assert info.value.message.startswith(f"{path}: invalid YAML at line ")


def test_anchors_and_merge_keys_below_the_limit_still_load(tmp_path: Path) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text(
        "x-base: &base {image: busybox, restart: always}\nweb:\n  <<: *base\n  port: 1\n"
    )
    loaded = load_yaml_mapping(path, what="template")
    assert loaded["web"] == {"image": "busybox", "restart": "always", "port": 1}
    path.write_text(_laughs(4))  # 9**4 nodes: fine
    assert len(load_yaml_mapping(path, what="template")["l3"]) == 9


def test_an_alias_inside_its_own_anchor_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("a: &a [1, *a]\n")
    with pytest.raises(ConfigError, match="an alias refers to the node that holds it"):
        load_yaml_mapping(path, what="template")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("name: a\nimage: x\nname: b\n", 3),
        ("services:\n  web: {}\n  db: {}\n  web: {}\n", 4),
        ("1: a\n1: b\n", 2),
    ],
)
def test_a_duplicate_key_is_an_error(tmp_path: Path, text: str, line: int) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_yaml_mapping(path, what="template")
    assert info.value.message.startswith(f"{path}: invalid YAML at line {line}, column ")
    assert "duplicate key" in info.value.message and "\n" not in info.value.message


def test_dump_yaml_keeps_order_and_writes_several_lines_as_a_block(tmp_path: Path) -> None:
    data = {"title": "Ünïcode: yes", "description": "one\ntwo", "gates": [{"command": "a && b"}]}
    text = dump_yaml(data)
    assert text.splitlines()[:4] == ["title: 'Ünïcode: yes'", "description: |-", "  one", "  two"]
    assert parse_yaml_mapping(text, tmp_path / "x.yaml", what="test") == data


@pytest.mark.parametrize("opening", ["[", "{a: "])
def test_a_deeply_nested_document_is_a_config_error(tmp_path: Path, opening: str) -> None:
    closing = "]" if opening == "[" else "}"
    path = tmp_path / "deep.yaml"
    path.write_text("x: " + opening * 5000 + "1" + closing * 5000 + "\n")
    with pytest.raises(ConfigError, match="nested too deeply"):  # was a RecursionError
        load_yaml_mapping(path, what="template")
