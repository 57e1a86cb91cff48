"""The shared YAML loader: 'file: problem' ConfigErrors with line numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexus_cli.config_yaml import dump_yaml, key_error, load_yaml_mapping, parse_yaml_mapping
from nexus_cli.errors import ConfigError


def test_mapping_is_returned_and_empty_file_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("a: 1\nb: [x]\n")
    assert load_yaml_mapping(path, what="template") == {"a": 1, "b": ["x"]}
    path.write_text("")
    assert load_yaml_mapping(path, what="template") == {}


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


def test_dump_yaml_keeps_order_and_writes_several_lines_as_a_block(tmp_path: Path) -> None:
    data = {"title": "Ünïcode: yes", "description": "one\ntwo", "gates": [{"command": "a && b"}]}
    text = dump_yaml(data)
    assert text.splitlines()[:4] == ["title: 'Ünïcode: yes'", "description: |-", "  one", "  two"]
    assert parse_yaml_mapping(text, tmp_path / "x.yaml", what="test") == data
