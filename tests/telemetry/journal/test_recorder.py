"""Every invocation is one row; opt-outs record nothing; a broken database never hurts a command."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nexus_cli import paths
from nexus_cli.telemetry.journal import file, invocation, recorder
from tests.conftest import fold_telemetry, run_nexus, run_process


def _rows(table: str = "events") -> list[sqlite3.Row]:
    fold_telemetry()
    db = paths.telemetry_db_path()
    if not db.exists():
        return []
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return list(conn.execute(f"SELECT * FROM {table} ORDER BY id"))
    finally:
        conn.close()


MIXED = [
    ["version"],  # ok
    ["--version"],  # ok
    ["telemetry", "status", "--json"],  # ok
    ["init"],  # fails outside a git repository
    ["doctor", "--no-such-option"],  # usage error
    ["no-such-command"],  # usage error
    ["completion", "tcsh"],  # usage error (bad choice)
]


def test_hundred_mixed_invocations_add_exactly_hundred_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    codes = set()
    for i in range(100):
        codes.add(run_nexus(*MIXED[i % len(MIXED)]).exit_code)
    assert codes == {0, 1, 2}
    rows = _rows()
    assert len(rows) == 100
    assert {r["exit_code"] for r in rows} == {0, 1, 2}
    assert {r["success"] for r in rows} == {0, 1}
    assert {r["command"] for r in rows} >= {"version", "telemetry status", "init", "doctor"}


@pytest.mark.parametrize(
    "env,args",
    [
        ({"NEXUS_TELEMETRY_DISABLED": "1"}, []),
        ({"DO_NOT_TRACK": "1"}, []),
        ({}, ["--no-telemetry"]),
    ],
)
def test_opt_outs_record_nothing(
    env: dict[str, str], args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for command in MIXED:
        run_nexus(*args, *command)
    assert _rows() == []


def test_telemetry_off_records_nothing_until_on() -> None:
    assert run_nexus("telemetry", "off").exit_code == 0
    for command in MIXED:
        run_nexus(*command)
    assert _rows() == []
    status = run_nexus("telemetry", "status", "--json").json()
    assert status["enabled"] is False and status["source"] == "config"
    assert run_nexus("telemetry", "on").exit_code == 0
    run_nexus("version")
    assert len(_rows()) == 2  # `telemetry on` itself, then `version`


def test_journal_and_database_are_private_and_in_wal_mode() -> None:
    run_nexus("version")
    folder = paths.nexus_home() / paths.TELEMETRY_JOURNAL
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / file.JOURNAL_FILE).stat().st_mode) == 0o600
    fold_telemetry()
    db = paths.telemetry_db_path()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def _baseline(args: list[str]) -> tuple[int, str, str]:
    result = run_nexus(*args)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("damage", ["corrupt", "locked", "directory"])
def test_broken_database_changes_neither_output_nor_exit_code(
    damage: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    commands = [["version"], ["init"], ["doctor", "--bogus"]]
    monkeypatch.setenv("NEXUS_TELEMETRY_DISABLED", "1")
    expected = [_baseline(c) for c in commands]
    monkeypatch.delenv("NEXUS_TELEMETRY_DISABLED")
    db = paths.telemetry_db_path()
    db.parent.mkdir(parents=True, exist_ok=True)
    holder = None
    if damage == "corrupt":
        db.write_bytes(b"this is not a database" * 100)
    elif damage == "locked":
        run_nexus("version")
        holder = sqlite3.connect(db, timeout=0)
        holder.execute("BEGIN EXCLUSIVE")
    else:
        db.mkdir()
    try:
        assert [_baseline(c) for c in commands] == expected
    finally:
        if holder is not None:
            holder.close()
    if damage == "corrupt":
        assert db.read_bytes() == b"this is not a database" * 100  # nothing lost or rewritten


def _make_read_only(folder: Path) -> list[Path]:
    """Make ``folder`` and its files unwritable, even for root (chattr +i); returns what to undo."""
    import shutil
    import subprocess

    targets = [*folder.iterdir(), folder]
    if os.geteuid() != 0:
        for path in targets:
            path.chmod(0o555 if path.is_dir() else 0o444)
        return []
    if shutil.which("chattr") is None:
        pytest.skip("root without chattr cannot make a read-only database")
    done = []
    for path in targets:
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
            _undo_read_only(done)
            pytest.skip("this filesystem does not support immutable files")
        done.append(path)
    return done


def _undo_read_only(paths_: list[Path]) -> None:
    import subprocess

    for path in paths_:
        subprocess.run(["chattr", "-i", str(path)], capture_output=True)


def test_read_only_database_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    commands = [["version"], ["init"], ["doctor", "--bogus"], ["--version"]]
    expected = [_baseline(c) for c in commands]
    home = paths.nexus_home()
    rows_before = len(_rows())
    undo = _make_read_only(home)
    try:
        assert [_baseline(c) for c in commands] == expected
    finally:
        _undo_read_only(undo)
        for path in [home, *home.iterdir()]:
            path.chmod(0o700 if path.is_dir() else 0o600)
    assert len(_rows()) == rows_before


def test_recorder_never_raises(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NEXUS_HOME", str(tmp_path / "file"))
    (tmp_path / "file").write_text("not a folder")
    inv = invocation.Invocation(["x"])
    assert recorder.record(inv, 0) is False


def test_sessions_table_tracks_commands_and_idle_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEXUS_SESSION_ID", "explicit-session")
    run_nexus("version")
    run_nexus("no-such-command")
    sessions = _rows("sessions")
    assert len(sessions) == 1
    assert sessions[0]["session_id"] == "explicit-session"
    assert sessions[0]["commands_executed"] == 2
    assert sessions[0]["errors_encountered"] == 1
    monkeypatch.delenv("NEXUS_SESSION_ID")
    run_nexus("version")
    run_nexus("version")
    derived = [r["session_id"] for r in _rows()[-2:]]
    assert derived[0] == derived[1] != "explicit-session"
    # After 30 idle minutes the same shell starts a new session.
    conn = sqlite3.connect(paths.telemetry_db_path())
    conn.execute(
        "UPDATE sessions SET ended_at = '2000-01-01 00:00:00.000' WHERE session_id = ?",
        (derived[0],),
    )
    conn.commit()
    conn.close()
    run_nexus("version")
    assert _rows()[-1]["session_id"] != derived[0]


def test_command_path_and_option_names_are_kept(git_repo: Path) -> None:
    run_nexus("-C", str(git_repo), "--no-telemetry", "version")
    assert _rows() == []
    run_nexus("-C", str(git_repo), "telemetry", "status", "--json")
    row = _rows()[-1]
    assert row["command"] == "telemetry status"
    assert '"as_json"' in row["raw_data"]
    assert str(git_repo) not in row["raw_data"]


def test_recorded_from_a_real_process(tmp_path: Path) -> None:
    out = run_process("--version", cwd=tmp_path)
    assert out.returncode == 0 and out.stderr == ""
    assert len(_rows()) == 1


def test_workspace_and_task_names_are_salted_hashes() -> None:
    inv = invocation.begin(["workspace", "create", "feature-auth"])
    invocation.note(workspace="feature-auth", task="nx-1a2b")
    assert recorder.record(inv, 0)
    row = _rows()[-1]
    assert row["workspace_hash"] and len(row["workspace_hash"]) == 64
    assert "feature-auth" not in row["workspace_hash"]
    salt = paths.nexus_home() / paths.SALT_FILE
    assert stat.S_IMODE(salt.stat().st_mode) == 0o600
    import hashlib

    assert row["workspace_hash"] != hashlib.sha256(b"feature-auth").hexdigest()


NAMED_ENTRY = """\
import sys
from nexus_cli.telemetry.journal import invocation, recorder
inv = invocation.begin(["x"])
if sys.argv[1:] == ["named"]:
    invocation.note(workspace="feature-auth")
assert recorder.record(inv, 0)
print(recorder.PRIVACY in sys.modules, "hashlib" in sys.modules)
"""


@pytest.mark.parametrize(("case", "loaded"), [("named", "True True"), ("plain", "False False")])
def test_the_hashing_module_loads_only_for_an_entry_that_names_something(
    case: str, loaded: str
) -> None:
    """A plain entry is appended without hashlib or the salt; one naming a workspace hashes it."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", NAMED_ENTRY, case], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == loaded.split()
    hashed = [row["workspace_hash"] for row in _rows()]
    assert len(hashed) == 1
    assert (hashed[0] is not None) == (case == "named")


SECRET = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=6, max_size=30
).map(lambda s: "zq" + s + "qz")


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(value=SECRET, name=SECRET)
def test_no_option_value_or_name_argument_is_ever_stored(
    value: str, name: str, tmp_path: Path
) -> None:
    """Values of options and positional arguments never reach the database, whatever they are."""
    home = tmp_path / f"h{abs(hash((value, name)))}"
    os.environ["NEXUS_HOME"] = str(home)
    invocations = [
        ["completion", "bash", "--install", value],
        ["-C", value, "version"],
        ["telemetry", "status", "--json", name],
        [name, "--json", value],
        ["doctor", f"--json={value}"],
        ["init", name],
    ]
    for args in invocations:
        run_nexus(*args)
        inv = invocation.begin(args)
        invocation.note(workspace=name, task=value)
        recorder.record(inv, 0)
    journal_text = (home / paths.TELEMETRY_JOURNAL / file.JOURNAL_FILE).read_text()
    fold_telemetry()
    conn = sqlite3.connect(home / paths.TELEMETRY_DB)
    dump = "\n".join(conn.iterdump())
    conn.close()
    assert dump.count('INSERT INTO "event_rows"') == 2 * len(invocations)  # `events` is a view
    dump += journal_text  # nor the journal, before it is folded
    for secret in (
        value,
        name,
        value.encode("unicode_escape").decode(),
        name.encode("unicode_escape").decode(),
    ):
        assert secret not in dump


def test_an_invocation_is_current_only_while_its_command_runs() -> None:
    """After `main()` returns, a note made outside any command attaches to no finished command."""
    before = invocation.current()  # another test's (begin() in this thread), or None
    seen: list[invocation.Invocation | None] = []
    with invocation.running(["outer"]) as outer:
        with invocation.running(["inner"]) as inner:
            seen.append(invocation.current())
        seen.append(invocation.current())
    assert seen == [inner, outer]
    assert invocation.current() is before
    assert run_nexus("--version").exit_code == 0
    assert invocation.current() is before
