"""The salt: never used when missing, empty or short; regenerated once, even under a race."""

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
from nexus_cli.telemetry import invocation, privacy, recorder
from tests.conftest import run_nexus


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
    assert privacy.regeneration_note() is None
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
    note = privacy.regeneration_note()
    assert note is not None and note["reason"] == reason and note["regenerated_at"]
    status = run_nexus("telemetry", "status", "--json").json()
    assert status["salt_regenerated"]["reason"] == reason
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
    assert privacy.regeneration_note() is None


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
    assert privacy.regeneration_note() is None
    _salt_file().unlink()
    privacy.salt()
    note = privacy.regeneration_note()
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
    with pytest.raises(StateError, match=r"telemetry\.salt"):
        privacy.salt()  # never blocks on the FIFO, never reads through the link
    inv = invocation.begin(["workspace", "create", "x"])
    invocation.note(workspace="x")
    assert recorder.record(inv, 0) is False  # costs the event, never the command


_RACER = """
import sys, time
from nexus_cli.telemetry import privacy
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
