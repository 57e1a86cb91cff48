from __future__ import annotations

from pathlib import Path

import pytest

from nexus_cli.errors import NotFoundError, StateError
from nexus_cli.workspaces import records


def test_records_round_trip(tmp_path: Path) -> None:
    with records.editing(tmp_path) as recs:
        recs["a"] = records.WorkspaceRecord(
            name="a", template="bare", branch="a", variables={"X": "1"}
        )
    loaded = records.get(tmp_path, "a")
    assert loaded.variables == {"X": "1"}
    assert loaded.bind_address == "127.0.0.1"
    with pytest.raises(NotFoundError, match="no workspace named 'b'"):
        records.get(tmp_path, "b")


def test_failed_edit_writes_nothing(tmp_path: Path) -> None:
    with records.editing(tmp_path) as recs:
        recs["a"] = records.WorkspaceRecord(name="a", template="bare", branch="a")
    with pytest.raises(RuntimeError), records.editing(tmp_path) as recs:
        recs.pop("a")
        raise RuntimeError("boom")
    assert "a" in records.load_all(tmp_path)


def test_corrupt_records_are_a_state_error(tmp_path: Path) -> None:
    (tmp_path / records.RECORDS_FILE).write_text("[oops")
    with pytest.raises(StateError, match="unreadable"):
        records.load_all(tmp_path)


def test_completion_sources(project: Path) -> None:
    from nexus_cli.completion import candidates
    from tests.conftest import run_nexus

    assert run_nexus("workspace", "create", "feature-auth").exit_code == 0
    assert run_nexus("workspace", "create", "bugfix").exit_code == 0
    assert candidates("workspace", "feat") == ["feature-auth"]
    assert "node-postgres" in candidates("template", "node")


def test_record_json_has_exactly_its_fields(tmp_path: Path) -> None:
    """A stray attribute must never reach workspaces.json (the old base class wrote ``vars()``)."""
    import dataclasses
    import json

    record = records.WorkspaceRecord(name="a", template="bare", branch="a")
    with pytest.raises(AttributeError):  # slots: nothing outside the fields can be attached
        record.scratch = "x"  # type: ignore[attr-defined]
    with records.editing(tmp_path) as recs:
        recs["a"] = record
    rows = json.loads((tmp_path / records.RECORDS_FILE).read_text())["workspaces"]
    fields = [f.name for f in dataclasses.fields(records.WorkspaceRecord)]
    assert [list(row) for row in rows] == [[f for f in fields if f != "creating"]]
    assert records.load_all(tmp_path) == {"a": record}
    journal = {"owner": {"host": "h", "pid": 1, "start": "s", "token": "t"}, "worktree": True}
    journal["branch"] = "0" * 40
    record.creating = journal  # a create in progress: its journal is written, and read back
    with records.editing(tmp_path) as recs:
        recs["a"] = record
    assert records.load_all(tmp_path)["a"].creating == journal


@pytest.mark.parametrize(
    ("document", "words"),
    [
        (
            '{"version": 1, "workspaces": [{"name": "a", "template": "bare", "branch": "a", '
            '"created_at": NaN}]}',
            "NaN is not a JSON number",
        ),
        ('{"version": 1, "workspaces": [], "workspaces": []}', "duplicate key"),
        (
            '{"version": 1, "workspaces": [{"name": "a", "template": "bare", "branch": "a", '
            '"variables": {"V": "' + "x" * 10_001 + '"}}]}',
            "variables must map text to text",
        ),
        (
            '{"version": 1, "workspaces": [{"name": "a", "template": "bare", "branch": "a", '
            '"generated_files": {"f": "not a hash"}}]}',
            "has no SHA-256",
        ),
    ],
)
def test_records_read_back_with_the_schema(tmp_path: Path, document: str, words: str) -> None:
    (tmp_path / records.RECORDS_FILE).write_text(document)
    with pytest.raises(StateError, match=words) as caught:
        records.load_all(tmp_path)
    assert "\n" not in caught.value.message


def test_a_record_the_reader_would_refuse_is_never_written(tmp_path: Path) -> None:
    with records.editing(tmp_path) as recs:
        recs["a"] = records.WorkspaceRecord(name="a", template="bare", branch="a")
    before = (tmp_path / records.RECORDS_FILE).read_bytes()
    with pytest.raises(StateError, match="variables"), records.editing(tmp_path) as recs:
        recs["b"] = records.WorkspaceRecord(
            name="b", template="bare", branch="b", variables={"V": "x" * 10_001}
        )
    assert (tmp_path / records.RECORDS_FILE).read_bytes() == before
    assert list(records.load_all(tmp_path)) == ["a"]


def test_the_cli_refuses_a_variable_the_record_could_not_hold(project: Path) -> None:
    from tests.conftest import run_nexus

    result = run_nexus("workspace", "create", "w", "--var", "V=" + "x" * 10_001)
    assert result.exit_code == 2 and "longer than 10,000 characters" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_misspelt_workspace_suggests_the_closest(tmp_path: Path) -> None:
    with records.editing(tmp_path) as recs:
        recs["feature-auth"] = records.WorkspaceRecord(
            name="feature-auth", template="bare", branch="feature-auth"
        )
    with pytest.raises(NotFoundError) as info:
        records.get(tmp_path, "feature-aut")
    assert info.value.hint == "did you mean 'feature-auth'?"


@pytest.mark.parametrize(
    "journal",
    [
        [],
        {"owner": [], "worktree": True},
        {"worktree": "yes"},
        {"branch": "main"},
        {"branch": "0" * 39},
        {"network": True},
    ],
)
def test_a_create_journal_that_nexus_did_not_write_is_refused(
    tmp_path: Path, journal: object
) -> None:
    import json

    row = {"name": "a", "template": "bare", "branch": "a", "creating": journal}
    (tmp_path / records.RECORDS_FILE).write_text(json.dumps({"version": 1, "workspaces": [row]}))
    with pytest.raises(StateError, match="create journal"):
        records.load_all(tmp_path)
