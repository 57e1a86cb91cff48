"""The salt: never used when missing, empty or short; regenerated once, even under a race.

Mutation testing (``python scripts/mutation.py privacy``) kills every mutant of
``nexus_cli/telemetry/journal/privacy.py`` except equivalent ones: the read chunk size (4096 vs 4097),
the letter case of SQL keywords, and the spelling of the UTF-8 codec (``"UTF-8"``, ``None`` or the
default in a UTF-8 locale, for an ASCII JSON note). (The SQL query and the note's reader now live in
``nexus_cli/telemetry/db/child.py`` and ``nexus_cli/telemetry/query/status.py``.)
"""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nexus_cli import paths
from nexus_cli.errors import StateError
from nexus_cli.telemetry.journal import invocation, privacy, recorder
from nexus_cli.telemetry.query import status
from tests.conftest import fold_telemetry, run_nexus


def _salt_file() -> Path:
    return paths.nexus_home() / paths.SALT_FILE


def _write_salt(content: bytes) -> None:
    paths.nexus_home().mkdir(parents=True, exist_ok=True)
    _salt_file().write_bytes(content)


def test_first_salt_is_private_long_and_noted_nowhere() -> None:
    value = privacy.salt()
    assert len(value) == 64 and int(value, 16) >= 0
    assert _salt_file().read_bytes() == value + b"\n"
    assert stat.S_IMODE(_salt_file().stat().st_mode) == 0o600
    assert privacy.salt() == value  # stable
    assert status.regeneration_note() is None
    assert run_nexus("telemetry", "status", "--json").json()["salt_regenerated"] is None


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "it was empty"),
        (b"  \n\t\n", "it was empty"),
        (b"0123456789abcde\n", "it was too short (15 bytes)"),
        (b"x", "it was too short (1 bytes)"),
    ],
)
def test_an_unusable_salt_is_regenerated_and_status_says_so(content: bytes, reason: str) -> None:
    _write_salt(content)
    value = privacy.salt()
    assert len(value) == 64 and value != content.strip()
    assert _salt_file().read_bytes() == value + b"\n"
    assert stat.S_IMODE(_salt_file().stat().st_mode) == 0o600
    note = status.regeneration_note()
    assert note is not None and note["reason"] == reason and note["regenerated_at"]
    shown = run_nexus("telemetry", "status", "--json").json()
    assert shown["salt_regenerated"]["reason"] == reason
    human = run_nexus("telemetry", "status").stdout
    assert f"({reason}): names hashed before then no longer match" in human
    assert "salt:      regenerated 20" in human


def test_an_empty_salt_is_never_used_for_hashing() -> None:
    _write_salt(b"")
    unsalted = hashlib.sha256(b"\0workspace\0feature-auth").hexdigest()
    assert privacy.hash_name("feature-auth", kind="workspace") != unsalted


def test_a_sixteen_byte_salt_is_used_as_is() -> None:
    _write_salt(b"0123456789abcdef\n")
    assert privacy.salt() == b"0123456789abcdef"
    assert status.regeneration_note() is None


def test_hash_is_sha256_of_salt_kind_and_name() -> None:
    _write_salt(b"s" * 32 + b"\n")
    expected = hashlib.sha256(b"s" * 32 + b"\0task\0nx-1a2b").hexdigest()
    assert privacy.hash_name("nx-1a2b", kind="task") == expected
    assert privacy.hash_name("nx-1a2b", kind="workspace") != expected
    assert privacy.hash_name("nx-1a2c", kind="task") != expected
    _write_salt(b"t" * 32 + b"\n")
    assert privacy.hash_name("nx-1a2b", kind="task") != expected
    # undecodable bytes (surrogate-escaped argv) hash without an error
    assert len(privacy.hash_name("a\udcffb", kind="workspace")) == 64


def test_a_missing_salt_with_hashes_already_stored_is_noted() -> None:
    inv = invocation.begin(["workspace", "create", "feature-auth"])
    invocation.note(workspace="feature-auth")
    assert recorder.record(inv, 0)
    assert status.regeneration_note() is None
    _salt_file().unlink()
    privacy.salt()
    note = status.regeneration_note()
    assert note is not None and note["reason"] == "it was missing"


@pytest.mark.parametrize("kind", ["fifo", "folder", "symlink"])
def test_a_salt_that_is_not_a_regular_file_is_a_clear_error(kind: str, tmp_path: Path) -> None:
    paths.nexus_home().mkdir(parents=True, exist_ok=True)
    target = _salt_file()
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "folder":
        target.mkdir()
    else:
        (tmp_path / "elsewhere").write_text("x" * 64)
        target.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(StateError, match=r"telemetry\.salt") as caught:
        privacy.salt()  # never blocks on the FIFO, never reads through the link
    if kind == "symlink":
        assert caught.value.message.endswith(
            "telemetry.salt is a symbolic link; the telemetry salt must be a regular file"
        )
        assert (
            caught.value.hint == f"remove it (rm {target}); a new salt is made on the next command"
        )
    else:
        assert caught.value.message == f"{target} is not a regular file"
        assert caught.value.hint == (
            f"remove it (rm -r {target}); a new salt is made on the next command"
        )
    inv = invocation.begin(["workspace", "create", "x"])
    invocation.note(workspace="x")
    assert recorder.record(inv, 0) is False  # costs the event, never the command


_RACER = """
import sys, time
from nexus_cli.telemetry.journal import privacy
start = float(sys.argv[1])
while time.time() < start:
    pass
print(privacy.salt().decode())
"""


@pytest.mark.parametrize("initial", [None, b"", b"short\n"])
def test_concurrent_first_recorders_end_with_one_salt(initial: bytes | None) -> None:
    if initial is not None:
        _write_salt(initial)
    start = time.time() + 1.0
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=os.environ.copy(),
        )
        for _ in range(6)
    ]
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        outputs.append(out.strip())
    final = _salt_file().read_text().strip()
    assert len(final) == 64
    assert set(outputs) == {final}
    leftovers = [p.name for p in paths.nexus_home().iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_a_salt_below_a_file_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("NEXUS_HOME", str(tmp_path / "file"))
    with pytest.raises(StateError) as caught:
        privacy.salt()
    assert caught.value.message == f"cannot read {tmp_path}/file/telemetry.salt: Not a directory"


def test_a_long_salt_is_read_whole() -> None:
    long_salt = bytes(65 + i % 26 for i in range(5000))
    _write_salt(long_salt + b"\n")
    assert privacy.salt() == long_salt


def test_a_usable_salt_is_read_without_the_lock() -> None:
    _write_salt(b"k" * 40 + b"\n")
    assert privacy.salt() == b"k" * 40
    assert not (paths.nexus_home() / privacy.LOCK_FILE).exists()


def test_regeneration_locks_in_the_home_and_rechecks_under_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _write_salt(b"")
    first = privacy.salt()
    assert (paths.nexus_home() / privacy.LOCK_FILE).exists()
    assert not (tmp_path / privacy.LOCK_FILE).exists()
    # another process made a salt while this one waited for the lock: it is kept
    home = str(paths.nexus_home())
    assert privacy._regenerate(home, str(_salt_file())) == first
    assert _salt_file().read_bytes() == first + b"\n"


def test_the_note_is_private_and_stamped_in_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime

    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    try:
        _write_salt(b"short")
        privacy.salt()
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    note_file = paths.nexus_home() / privacy.NOTE_FILE
    assert stat.S_IMODE(note_file.stat().st_mode) == 0o600
    note = status.regeneration_note()
    assert note is not None
    stamped = datetime.strptime(note["regenerated_at"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - stamped).total_seconds()) < 120


@pytest.mark.parametrize("content", ["not json", "[1, 2]"])
def test_an_unreadable_note_is_reported_as_unknown(content: str) -> None:
    paths.nexus_home().mkdir(parents=True, exist_ok=True)
    (paths.nexus_home() / privacy.NOTE_FILE).write_text(content)
    unknown = {"regenerated_at": None, "reason": "unknown (the note is unreadable)"}
    assert status.regeneration_note() == unknown
    assert run_nexus("telemetry", "status", "--json").json()["salt_regenerated"] == unknown
    assert "salt:      regenerated (unknown (the note is unreadable))" in (
        run_nexus("telemetry", "status").stdout
    )


def test_a_missing_salt_beside_an_unreadable_database_is_noted() -> None:
    paths.nexus_home().mkdir(parents=True, exist_ok=True)
    paths.telemetry_db_path().write_bytes(b"this is not a database" * 100)
    privacy.salt()
    note = status.regeneration_note()
    assert note is not None and note["reason"] == "it was missing"


def test_a_missing_salt_beside_a_database_without_hashes_is_a_first_salt() -> None:
    assert run_nexus("version").exit_code == 0  # an event without any hashed name
    _salt_file().unlink(missing_ok=True)
    privacy.salt()
    assert status.regeneration_note() is None


@pytest.mark.parametrize("folded", [False, True])
def test_a_missing_salt_beside_hashes_in_the_journal_or_the_database_is_noted(
    folded: bool,
) -> None:
    inv = invocation.begin(["workspace", "create"])
    invocation.note(workspace="feature-auth")
    assert recorder.record(inv, 0)  # one hashed name, in the journal
    if folded:
        fold_telemetry()
    _salt_file().unlink()
    privacy.salt()
    note = status.regeneration_note()
    assert note is not None and note["reason"] == "it was missing"
