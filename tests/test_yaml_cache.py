"""Parsed YAML kept as JSON: used only for the same path and the very same text."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nexus_cli import paths, yaml_cache
from nexus_cli.config_yaml import load_yaml_mapping
from nexus_cli.errors import ConfigError


def _entries() -> list[Path]:
    folder = Path(paths.cache_dir_str()) / "yaml"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def test_a_second_read_of_an_unchanged_file_does_not_import_pyyaml(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("workspaces:\n  bind_address: 127.0.0.1\nlist: [1, 2.5, true, null]\n")
    code = (
        "import sys\n"
        "from nexus_cli.config_yaml import load_yaml_mapping\n"
        f"print(load_yaml_mapping({str(path)!r}, what='project configuration'))\n"
        "print('yaml' in sys.modules)\n"
    )
    runs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        for _ in range(2)
    ]
    assert [r.stdout.splitlines()[1] for r in runs] == ["True", "False"]
    assert runs[0].stdout.splitlines()[0] == runs[1].stdout.splitlines()[0]
    assert "'bind_address': '127.0.0.1'" in runs[1].stdout


def test_an_edit_that_keeps_size_and_mtime_is_seen(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("a: 1\n")
    assert load_yaml_mapping(path, what="template") == {"a": 1}
    before = path.stat()
    path.write_text("a: 2\n")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert load_yaml_mapping(path, what="template") == {"a": 2}


def test_each_read_returns_a_fresh_object(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("a: [1]\n")
    first = load_yaml_mapping(path, what="template")
    first["a"].append(2)
    assert load_yaml_mapping(path, what="template") == {"a": [1]}


@pytest.mark.parametrize(
    "text",
    ["day: 2024-01-02\n", "1: one\n", "b: !!binary aGk=\n", "s: !!set {a}\n", "a: &x [*x]\n"],
)
def test_documents_json_cannot_hold_are_not_kept(tmp_path: Path, text: str) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(text)
    first = load_yaml_mapping(path, what="template")
    assert _entries() == []
    assert type(load_yaml_mapping(path, what="template")) is type(first)


def test_errors_are_never_kept(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("a: [unclosed\n")
    for _ in range(2):
        with pytest.raises(ConfigError, match="invalid YAML"):
            load_yaml_mapping(path, what="template")
    assert _entries() == []


def test_a_tampered_or_corrupt_entry_is_a_miss(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("a: 1\n")
    load_yaml_mapping(path, what="template")
    (entry,) = _entries()
    data = json.loads(entry.read_text())
    entry.write_text(json.dumps({**data, "data": {"a": "forged"}, "text": "a: 9\n"}))
    assert load_yaml_mapping(path, what="template") == {"a": 1}
    entry.write_text("{not json")
    assert load_yaml_mapping(path, what="template") == {"a": 1}
    assert oct(entry.stat().st_mode & 0o777) == "0o600"
    assert (
        oct(entry.parent.stat().st_mode & 0o777)
        == oct(entry.parent.parent.stat().st_mode & 0o777)
        == "0o700"
    )


def test_the_kind_of_document_is_part_of_the_key(tmp_path: Path) -> None:
    path = tmp_path / "persona.md"
    assert yaml_cache.store(path, "persona file", "a: 1\n", {"a": 1})
    assert yaml_cache.lookup(path, "frontmatter", "a: 1\n") == (False, None)
    assert yaml_cache.lookup(path, "persona file", "a: 1\n") == (True, {"a": 1})


def test_an_unwritable_cache_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "home"
    blocker.write_text("a file where the cache folder would go")
    monkeypatch.setenv("NEXUS_HOME", str(blocker))
    path = tmp_path / "t.yaml"
    path.write_text("a: 1\n")
    assert yaml_cache.store(path, "template", "a: 1\n", {"a": 1}) is False
    assert load_yaml_mapping(path, what="template") == {"a": 1}


def test_a_missing_home_is_made_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "new-home"
    monkeypatch.setenv("NEXUS_HOME", str(home))
    assert yaml_cache.store(tmp_path / "t.yaml", "template", "a: 1\n", {"a": 1})
    for folder in (home, home / "cache", home / "cache" / "yaml"):
        assert oct(folder.stat().st_mode & 0o777) == "0o700", folder
