"""`task search` (FTS5 kept in step with the tasks) and `task duplicates` (prefix filtering)."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from nexus_cli.errors import UsageError
from nexus_cli.tasks.search import fts_query, similar_pairs
from tests.conftest import run_nexus
from tests.tasks.conftest import edit_task_line, new_task, ok


def _found(*words: str) -> list[str]:
    return [t["id"] for t in ok("task", "search", "--json", *words).json()]


def test_search_titles_descriptions_and_notes(tasks_project: Path) -> None:
    login = new_task("Fix the login page", "-d", "Sessions expire too early")
    other = new_task("Write release notes")
    assert _found("login") == [login]
    assert _found("sess") == [login]  # a prefix of a word in the description
    assert _found("LOGIN page") == [login]  # every word, any case
    assert _found("login notes") == []
    ok("task", "note", other, "mention the authentication change")
    assert _found("authentication") == [other]  # a note, indexed when it was added
    ok("task", "edit", login, "--title", "Fix the sign-in page")
    assert _found("login") == [] and _found("sign") == [login]  # the old title is gone


def test_search_text_is_never_query_syntax(tasks_project: Path) -> None:
    task_id = new_task('Quote " and NEAR(a b) and -minus OR x*')
    for text in ('"quote', "NEAR(a", "-minus", "OR", "x*", "a AND", "title:quote"):
        result = run_nexus("task", "search", "--json", "--", text)
        assert result.exit_code == 0, (text, result.stderr)
    assert _found("near") == [task_id] and _found("--", "-minus") == [task_id]
    nothing = run_nexus("task", "search", "  ... ")
    assert nothing.exit_code == 2 and "at least one word" in nothing.stderr


def test_fts_query_quotes_every_word() -> None:
    assert fts_query('a "b" c*') == '"a"* AND """b"""* AND "c*"*'
    with pytest.raises(UsageError):
        fts_query("- ( )")


def test_the_index_follows_an_edited_tasks_jsonl(tasks_project: Path) -> None:
    task_id = new_task("Original words")
    edit_task_line(tasks_project, task_id, lambda d: d.update(title="Pulled from a teammate"))
    assert _found("teammate") == [task_id] and _found("original") == []
    conn = sqlite3.connect(tasks_project / ".nexus" / "tasks.db")
    rows = conn.execute("SELECT count(*) FROM tasks_fts").fetchone()[0]
    conn.close()
    assert rows == 1


def test_duplicates_finds_titles_that_look_alike(tasks_project: Path) -> None:
    first = new_task("Fix the login page timeout")
    second = new_task("Fix login page timeouts")
    new_task("Write the release notes")
    done = new_task("Fix the login page timeout!")
    ok("task", "cancel", done, "--reason", "dup")
    found = ok("task", "duplicates", "--json").json()
    assert [sorted(t["id"] for t in p["tasks"]) for p in found["pairs"]] == [
        sorted([first, second])
    ]
    everything = ok("task", "duplicates", "--all", "--json").json()["pairs"]
    assert everything[0]["similarity"] == 1.0  # the cancelled one is an exact twin
    assert len(ok("task", "duplicates", "--threshold", "0.95", "--json").json()["pairs"]) == 0


def test_duplicates_compares_few_pairs_at_ten_thousand() -> None:
    rng = random.Random(7)
    words = [f"w{n}" for n in range(3000)]
    titles = [(f"nx-{i:05d}", " ".join(rng.sample(words, 5)), "open") for i in range(10_000)]
    planted = [("nx-a", "Migrate the billing service", "open"),
               ("nx-b", "Migrate billing services", "open")]  # fmt: skip
    found = similar_pairs(sorted(titles + planted), 0.7)
    assert [(d.first[0], d.second[0]) for d in found] == [("nx-a", "nx-b")]


def test_a_word_in_too_many_tasks_lists_them_unranked_in_list_order(
    tasks_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nexus_cli.tasks import store

    low = new_task("Common word, low priority", "-p", "3", "-d", "common common common")
    high = new_task("Common word here too", "-p", "0")
    assert _found("common") == [low, high]  # BM25: three more hits in its description
    monkeypatch.setattr(store, "RANK_AT_MOST", 1)
    assert _found("common") == [high, low]  # by priority, then age
    first = ok("task", "search", "--json", "-n", "1", "common").json()  # a walk that stops early
    assert [t["id"] for t in first] == [high]
    ok("task", "cancel", high, "--reason", "x")
    only = ok("task", "search", "--json", "--status", "open", "common").json()
    assert [t["id"] for t in only] == [low]
    page = ok("task", "search", "--json", "--status", "open", "-n", "5", "common").json()
    assert [t["id"] for t in page] == [low]
