"""Project memory: facts agents remember, shared through git with a union merge, read back
strictly (a teammate's bad line is skipped and counted, never fatal)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nexus_cli.project import find_project
from nexus_cli.tasks import memory
from tests.conftest import git, run_nexus
from tests.tasks.conftest import ok


def facts(root: Path | None = None) -> list[dict[str, object]]:
    args = ["-C", str(root)] if root else []
    return list(ok(*args, "memory", "--json").json()["facts"])


def test_remember_list_forget(project: Path) -> None:
    first = ok("remember", "tests need  Docker\nrunning", "--json").json()
    assert first["text"] == "tests need Docker running"  # one line, spaces collapsed
    assert first["id"].startswith("mem-") and first["by"] and first["task"] is None
    second = ok("remember", "use make lint before pushing", "--json").json()
    assert [f["id"] for f in facts()] == [second["id"], first["id"]]  # newest first
    gone = ok("forget", first["id"], "--json").json()
    assert gone["text"] == "tests need Docker running"
    assert [f["id"] for f in facts()] == [second["id"]]
    again = run_nexus("forget", first["id"])
    assert again.exit_code == 1 and f"no fact '{first['id']}'" in again.stderr


@pytest.mark.parametrize(
    ("text", "why"),
    [("x" * 1001, "at most 1000 characters"), ("   ", "needs some text"), ("a\x1b[31m", "control")],
)
def test_bad_facts_are_one_line_usage_errors(project: Path, text: str, why: str) -> None:
    result = run_nexus("remember", text)
    assert result.exit_code == 2 and why in result.stderr.splitlines()[0]
    assert not (project / ".nexus" / memory.MEMORY_FILE).exists()


def test_prime_shows_the_newest_facts_within_its_budget_escaped(project: Path) -> None:
    for i in range(12):
        ok("remember", f"fact number {i}")
    ok("remember", "x" * 999)
    ok("remember", "ends in ^[ and \u202e text")
    brief = ok("prime", "--json").json()
    texts = [f["text"] for f in brief["memory"]]
    assert texts[0] == "ends in ^[ and \u202e text" and texts[1] == "x" * 999
    assert sum(len(t) for t in texts) <= memory.PRIME_CHARS and len(texts) <= memory.PRIME_FACTS
    rendered = ok("prime").stdout
    assert "## Project memory" in rendered and "fact number 11" in rendered


def test_hostile_lines_are_skipped_and_counted(project: Path) -> None:
    good = ok("remember", "kept", "--json").json()
    path = project / ".nexus" / memory.MEMORY_FILE
    bad = [
        b'{"op":"add","id":"mem-1","text":NaN,"by":"x","at":"t"}',
        b'{"op":"add","id":"mem-2","text":"' + b"y" * 2000 + b'","by":"x","at":"t"}',
        b'{"op":"add","id":"mem-3","text":"a\\u001bb","by":"x","at":"t"}',
        b'{"op":"add","id":"nx-4","text":"wrong id","by":"x","at":"t"}',
        b'{"op":"drop","id":"mem-5"}',
        b"[1,2,3]",
        b"\xff\xfe not utf-8",
        b'{"op":"add","id":"mem-6","text":"t","by":"x","at":"t","task":"../x"}',
        b"{" * 10_000,
    ]
    with path.open("ab") as fh:
        fh.write(b"\n".join(bad) + b"\n")
    found = ok("memory", "--json").json()
    assert [f["id"] for f in found["facts"]] == [good["id"]]
    assert found["skipped_lines"] == len(bad)
    assert ok("prime", "--json").json()["memory"][0]["id"] == good["id"]


def test_a_linked_memory_file_is_refused(project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.jsonl"
    outside.write_text("")
    (project / ".nexus" / memory.MEMORY_FILE).symlink_to(outside)
    result = run_nexus("remember", "into a link")
    assert result.exit_code != 0 and "Traceback" not in result.stderr
    assert outside.read_text() == ""


def test_two_clones_merge_their_facts_with_git(project: Path, tmp_path: Path) -> None:
    origin = project
    assert memory.MEMORY_FILE in (origin / ".gitattributes").read_text()
    shared = ok("remember", "shared fact", "--json").json()["id"]
    git(origin, "add", "-A")
    git(origin, "commit", "-qm", "memory")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    ok("-C", str(clone), "init")
    ours = ok("-C", str(origin), "remember", "origin learned this", "--json").json()["id"]
    ok("-C", str(origin), "forget", shared)
    git(origin, "add", "-A")
    git(origin, "commit", "-qm", "origin memory")
    theirs = ok("-C", str(clone), "remember", "clone learned that", "--json").json()["id"]
    git(clone, "add", "-A")
    git(clone, "commit", "-qm", "clone memory")
    git(clone, "pull", "-q", "--no-rebase", "--no-edit", "origin", "main")
    text = (clone / ".nexus" / memory.MEMORY_FILE).read_text()
    assert "<<<<<<<" not in text
    assert {f["id"] for f in facts(clone)} == {ours, theirs}
    for line in text.splitlines():
        json.loads(line)


def test_read_of_a_project_without_memory(project: Path) -> None:
    assert memory.read(find_project(project)) == memory.Memory([], 0)
