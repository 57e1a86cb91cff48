"""Parsed YAML kept as JSON: used only for the same path and the very same text, and only when
the entry is signed by this home's cache key (a poisoned or foreign entry is a miss)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nexus_cli import paths, yaml_cache
from nexus_cli.config_yaml import load_yaml_mapping
from nexus_cli.errors import ConfigError
from nexus_cli.project import find_project
from nexus_cli.tasks import approvals
from nexus_cli.tasks.model import Gate
from tests.conftest import run_process


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
    ["day: 2024-01-02\n", "1: one\n", "b: !!binary aGk=\n", "s: !!set {a}\n"],
)
def test_documents_json_cannot_hold_are_not_kept(tmp_path: Path, text: str) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(text)
    first = load_yaml_mapping(path, what="template")
    assert _entries() == []
    assert type(load_yaml_mapping(path, what="template")) is type(first)


def test_a_self_referencing_alias_is_refused_and_not_kept(tmp_path: Path) -> None:
    """The YAML loader refuses it (issue 25, cause 3); the cache keeps no entry for it."""
    path = tmp_path / "t.yaml"
    path.write_text("a: &x [*x]\n")
    for _ in range(2):
        with pytest.raises(ConfigError, match="an alias refers to the node that holds it"):
            load_yaml_mapping(path, what="template")
    assert _entries() == []


def test_errors_are_never_kept(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("a: [unclosed\n")
    for _ in range(2):
        with pytest.raises(ConfigError, match="invalid YAML"):
            load_yaml_mapping(path, what="template")
    assert _entries() == []


def test_a_tampered_or_corrupt_entry_is_a_miss_and_is_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("a: 1\n")
    load_yaml_mapping(path, what="template")
    (entry,) = _entries()
    real = json.loads(entry.read_text())
    assert real["sha256"] == hashlib.sha256(b"a: 1\n").hexdigest() and "text" not in real
    # The real text's hash and the real MAC beside forged data: the MAC covers the data.
    entry.write_text(json.dumps({**real, "data": {"a": "forged"}}))
    assert load_yaml_mapping(path, what="template") == {"a": 1}
    assert json.loads(entry.read_text()) == real  # parsed again and rewritten
    entry.write_text(json.dumps({**real, "mac": "0" * 64}))
    assert load_yaml_mapping(path, what="template") == {"a": 1}
    for junk in ("{not json", "[]", '{"data": 1}', '{"data": 1, "mac": "\\u00e9"}', "[" * 10**5):
        entry.write_text(junk)
        assert load_yaml_mapping(path, what="template") == {"a": 1}
        assert json.loads(entry.read_text()) == real
    assert oct(entry.stat().st_mode & 0o777) == "0o600"
    assert (
        oct(entry.parent.stat().st_mode & 0o777)
        == oct(entry.parent.parent.stat().st_mode & 0o777)
        == "0o700"
    )


def test_an_entry_names_its_file_and_kind_not_its_text(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    assert yaml_cache.store(path, "template", "a: 1\n", {"a": 1})
    assert yaml_cache.store(path, "template", "a: 2\n", {"a": 2})
    assert len(_entries()) == 1  # an edit replaces the file's entry; entries do not pile up
    assert yaml_cache.lookup(path, "template", "a: 1\n") == (False, None)
    assert yaml_cache.lookup(path, "template", "a: 2\n") == (True, {"a": 2})


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


# --- the cache key: outside the cache, private, made on first use ----------------------------


def _key_file() -> Path:
    return Path(paths.cache_key_str())


def test_the_key_is_private_and_lives_outside_the_cache(
    tmp_path: Path, isolated_home: Path
) -> None:
    assert not _key_file().exists()
    assert yaml_cache.store(tmp_path / "t.yaml", "template", "a: 1\n", {"a": 1})
    key = _key_file()
    assert key == isolated_home / "nexus-home" / "cache.key"
    assert oct(key.stat().st_mode & 0o777) == "0o600" and len(key.read_bytes()) == 32
    assert Path(paths.cache_dir_str()) not in key.parents


def test_without_nexus_home_the_key_is_in_the_data_folder_and_the_cache_in_the_cache_folder(
    tmp_path: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NEXUS_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(isolated_home / ".cache"))
    assert yaml_cache.store(tmp_path / "t.yaml", "template", "a: 1\n", {"a": 1})
    key = isolated_home / ".local" / "share" / "nexus" / "cache.key"
    assert _key_file() == key and oct(key.stat().st_mode & 0o777) == "0o600"
    assert len(list((isolated_home / ".cache" / "nexus" / "yaml").iterdir())) == 1
    assert yaml_cache.lookup(tmp_path / "t.yaml", "template", "a: 1\n") == (True, {"a": 1})


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda key: key.unlink(), id="missing"),
        pytest.param(lambda key: key.write_bytes(b"short"), id="corrupt"),
        pytest.param(lambda key: key.write_bytes(os.urandom(32)), id="another key"),
        pytest.param(lambda key: key.chmod(0o644), id="readable by others"),
        pytest.param(
            lambda key: key.chmod(0o000),
            id="unreadable",
            marks=pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file"),
        ),
    ],
)
def test_a_missing_or_bad_key_makes_every_entry_a_miss_and_a_new_key(
    tmp_path: Path, damage: Callable[[Path], object]
) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("a: 1\n")
    assert load_yaml_mapping(path, what="template") == {"a": 1}
    before = _key_file().read_bytes()
    damage(_key_file())
    assert yaml_cache.lookup(path, "template", "a: 1\n") == (False, None)
    assert load_yaml_mapping(path, what="template") == {"a": 1}  # parsed, entry rewritten
    key = _key_file()
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert len(key.read_bytes()) == 32 and key.read_bytes() != before
    assert yaml_cache.lookup(path, "template", "a: 1\n") == (True, {"a": 1})


def test_a_key_that_is_a_link_or_a_folder_is_never_used_nor_written_through(
    tmp_path: Path,
) -> None:
    elsewhere = tmp_path / "known-key"
    elsewhere.write_bytes(b"k" * 32)
    elsewhere.chmod(0o600)
    _key_file().parent.mkdir(parents=True)
    _key_file().symlink_to(elsewhere)
    path = tmp_path / "t.yaml"
    path.write_text("a: 1\n")
    for _ in range(2):
        assert load_yaml_mapping(path, what="template") == {"a": 1}
    assert yaml_cache.lookup(path, "template", "a: 1\n") == (False, None)
    assert _entries() == [] and elsewhere.read_bytes() == b"k" * 32
    _key_file().unlink()
    _key_file().mkdir()
    assert yaml_cache.store(path, "template", "a: 1\n", {"a": 1}) is False
    assert load_yaml_mapping(path, what="template") == {"a": 1}


def test_an_entry_copied_from_another_home_is_a_miss(
    tmp_path: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("a: 1\n")
    other = tmp_path / "other-home"
    monkeypatch.setenv("NEXUS_HOME", str(other))
    load_yaml_mapping(path, what="template")
    (foreign,) = _entries()
    monkeypatch.setenv("NEXUS_HOME", str(isolated_home / "nexus-home"))
    folder = Path(paths.cache_dir_str()) / "yaml"
    folder.mkdir(parents=True)
    # forged data signed with the other home's key: that home's owner cannot sign for this one
    doc = json.loads(foreign.read_text())
    other_key = (other / "cache.key").read_bytes()
    forged = {"a": "forged"}
    mac = yaml_cache._mac(other_key, doc["path"], "template", doc["sha256"], forged)
    (folder / foreign.name).write_text(json.dumps({**doc, "data": forged, "mac": mac.decode()}))
    assert yaml_cache.lookup(path, "template", "a: 1\n") == (False, None)  # no key here yet
    assert load_yaml_mapping(path, what="template") == {"a": 1}
    shutil.copy(foreign, folder / foreign.name)  # this home has its own key now
    assert yaml_cache.lookup(path, "template", "a: 1\n") == (False, None)
    assert load_yaml_mapping(path, what="template") == {"a": 1}
    assert yaml_cache.lookup(path, "template", "a: 1\n") == (True, {"a": 1})


def test_processes_making_the_key_at_once_agree_on_one(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from nexus_cli import yaml_cache\n"
        "name = sys.argv[1]\n"
        "assert yaml_cache.store(name, 'template', name, {'n': name})\n"
    )
    names = [str(tmp_path / f"f{i}.yaml") for i in range(6)]
    procs = [subprocess.Popen([sys.executable, "-c", code, name]) for name in names]
    assert [p.wait(timeout=60) for p in procs] == [0] * len(names)
    assert [yaml_cache.lookup(n, "template", n) for n in names] == [(True, {"n": n}) for n in names]
    assert sorted(p.name for p in _key_file().parent.iterdir() if "cache.key" in p.name) == [
        "cache.key"
    ]


# --- a poisoned cache never decides what runs --------------------------------------------------


def _poison(file: Path, forge: Callable[[Any], None]) -> None:
    """Change the data of ``file``'s cache entry in place, keeping the rest (the real text or its
    hash, the MAC): what whoever can write the cache folder, but not read the key, can do."""
    poisoned = 0
    for entry in _entries():
        doc = json.loads(entry.read_text())
        if Path(doc["path"]).resolve() == file.resolve():
            forge(doc["data"])
            entry.write_text(json.dumps(doc))
            poisoned += 1
    assert poisoned == 1


WORKFLOW = """\
name: rel
description: "Release"
stages:
  - id: check
    persona: testing
    title: "Check"
    gates: ["touch ran-real"]
"""


def test_a_poisoned_workflow_entry_never_changes_a_gate(project: Path) -> None:
    flow = project / ".nexus" / "workflows" / "rel.yaml"
    flow.parent.mkdir()
    flow.write_text(WORKFLOW)
    shown = run_process("workflow", "show", "rel", "--json", cwd=project)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["stages"][0]["gates"] == ["touch ran-real"]

    def forge(data: Any) -> None:
        data["stages"][0]["gates"] = ["touch pwned"]

    _poison(flow, forge)
    env = {"NEXUS_AGENT": "alice"}
    made = run_process("workflow", "run", "rel", "--json", cwd=project, env=env)
    assert made.returncode == 0, made.stderr
    (task,) = json.loads(made.stdout)
    assert [g["command"] for g in task["gates"]] == ["touch ran-real"]
    verified = run_process("task", "verify", task["id"], cwd=project, env=env)
    assert not (project / "pwned").exists()
    assert verified.returncode != 0 or (project / "ran-real").exists(), verified.stderr


SOLO = """\
x-nexus:
  description: one sleeping service
services:
  app:
    image: {image}
    command: ["sleep", "3600"]
"""
FORGED_COMMAND = ["sh", "-c", "touch /tmp/pwned; exec sleep 3600"]


def _solo_template(root: Path, image: str) -> Path:
    path = root / ".nexus" / "templates" / "solo.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(SOLO.format(image=image))
    shown = run_process("template", "show", "solo", "--json", cwd=root)
    assert shown.returncode == 0, shown.stderr

    def forge(data: Any) -> None:
        data["services"]["app"]["command"] = FORGED_COMMAND

    _poison(path, forge)
    return path


def test_a_poisoned_template_entry_never_changes_a_service_command(project: Path) -> None:
    _solo_template(project, "busybox:latest")
    shown = run_process("template", "show", "solo", "--json", cwd=project)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["services"]["app"]["command"] == ["sleep", "3600"]


@pytest.mark.docker
def test_workspace_create_runs_the_template_file_not_a_poisoned_entry(
    project: Path, test_image: str, docker_client: Any
) -> None:
    from tests.workspaces.conftest import remove_project_objects

    _solo_template(project, test_image)
    project_id = find_project(project).project_id()
    try:
        made = run_process("workspace", "create", "w1", "-t", "solo", cwd=project)
        assert made.returncode == 0, made.stderr
        container = docker_client.containers.get(f"nexus-{project_id}-w1-app")
        assert container.attrs["Config"]["Cmd"] == ["sleep", "3600"]
    finally:
        remove_project_objects(docker_client, project_id)


def test_poisoned_trust_rules_never_trust_a_command(project: Path, isolated_home: Path) -> None:
    trust = Path(approvals.trust_path())
    trust.parent.mkdir(parents=True, exist_ok=True)
    trust.write_text("rules:\n  - project: /nowhere\n    commands: ['make test']\n")
    gate = Gate("curl example.invalid")
    assert approvals.trust_rule_for(find_project(project), gate) is None

    def forge(data: Any) -> None:
        data["rules"] = [{"project": "*", "commands": ["*"]}]

    _poison(trust, forge)
    assert approvals.trust_rule_for(find_project(project), gate) is None


@pytest.mark.parametrize(
    "damage",
    ["garbage", "truncated", "empty", "folder", "bad key", "key folder"],
)
def test_a_command_reads_through_a_damaged_cache_and_rebuilds_it(damage: str) -> None:
    """The cache is disposable: whatever happened to an entry or the key, the command that
    reads the file gives the same answer, and the entry is made again where it can be."""
    first = run_process("--no-telemetry", "template", "show", "bare", "--json")
    assert first.returncode == 0, first.stderr
    (entry,) = _entries()
    key = Path(paths.cache_key_str())
    text = entry.read_text()
    if damage == "garbage":
        entry.write_bytes(b"\xff\x00garbage")
    elif damage == "truncated":
        entry.write_text(text[: len(text) // 2])
    elif damage == "empty":
        entry.write_text("")
    elif damage == "folder":
        entry.unlink()
        entry.mkdir()
    elif damage == "bad key":
        key.write_bytes(b"short")
    else:
        key.unlink()
        key.mkdir()
    again = run_process("--no-telemetry", "template", "show", "bare", "--json")
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout
    if damage in ("garbage", "truncated", "empty", "bad key"):
        assert json.loads(entry.read_text())["data"]  # made again
