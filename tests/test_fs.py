from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_cli.errors import ConflictError, StateError
from nexus_cli.fs import (
    PathEscapeError,
    atomic_write,
    inside_git_dir,
    is_inside,
    locked,
    resolve_inside,
)


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("old")
    os.chmod(target, 0o600)
    atomic_write(target, "new")
    assert target.read_text() == "new"
    assert oct(target.stat().st_mode & 0o777) == oct(0o600)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_atomic_write_chunks_and_bytes(tmp_path: Path) -> None:
    atomic_write(tmp_path / "c", iter(["a", "b"]))
    atomic_write(tmp_path / "b", b"\x00\x01")
    assert (tmp_path / "c").read_text() == "ab"
    assert (tmp_path / "b").read_bytes() == b"\x00\x01"


def test_atomic_write_cleans_temp_on_error(tmp_path: Path) -> None:
    from nexus_cli.fs import atomic_writer

    with pytest.raises(RuntimeError), atomic_writer(tmp_path / "x") as fh:
        fh.write("partial")  # type: ignore[arg-type]
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_refuses_fifo_symlink_and_folder(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ConflictError, match="not a regular file"):
        atomic_write(fifo, "x")
    assert fifo.is_fifo()
    outside = tmp_path / "outside"
    outside.write_text("keep")
    link = tmp_path / "link"
    link.symlink_to(outside)
    with pytest.raises(ConflictError, match="symbolic link"):
        atomic_write(link, "x")
    assert outside.read_text() == "keep"
    (tmp_path / "dir").mkdir()
    with pytest.raises(ConflictError):
        atomic_write(tmp_path / "dir", "x")


def test_atomic_write_interrupted_by_sigterm_leaves_no_temp(tmp_path: Path) -> None:
    script = (
        "import signal, sys, time\n"
        "from nexus_cli.fs import atomic_writer\n"
        "signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))\n"
        f"with atomic_writer({str(tmp_path / 'big')!r}) as fh:\n"
        "    fh.write('x' * 1000)\n"
        "    print('ready', flush=True)\n"
        "    time.sleep(30)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 143
    assert list(tmp_path.iterdir()) == []


def test_locked_refuses_a_folder_and_non_blocking_conflict(tmp_path: Path) -> None:
    (tmp_path / "ports.lock").mkdir()
    with pytest.raises(StateError, match="is a folder"), locked(tmp_path / "ports.lock"):
        pass
    lock = tmp_path / "x.lock"
    with locked(lock):
        code = (
            "import sys\nfrom nexus_cli.fs import locked\n"
            "from nexus_cli.errors import ConflictError\n"
            f"try:\n    with locked({str(lock)!r}, blocking=False): sys.exit(0)\n"
            "except ConflictError: sys.exit(7)\n"
        )
        assert subprocess.run([sys.executable, "-c", code]).returncode == 7


def test_resolve_inside_follows_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "seed").symlink_to("/")
    (root / "ok").mkdir()
    assert resolve_inside(root, "ok/file", what="t") == (root / "ok" / "file").resolve()
    for bad in ["seed", "seed/etc", "../x", "/etc", "ok/../../x", "a\x00b", "a\\..\\..\\x", ""]:
        with pytest.raises(PathEscapeError):
            resolve_inside(root, bad, what="t")
    with pytest.raises(PathEscapeError):
        resolve_inside(root, ".", what="t")
    assert resolve_inside(root, ".", what="t", allow_root=True) == root.resolve()


@given(st.lists(st.sampled_from(["a", "..", ".", "b", "seed", "c/.."]), min_size=1, max_size=6))
def test_resolve_inside_never_escapes(parts: list[str]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        (root / "seed").symlink_to(tmp)
        try:
            result = resolve_inside(root, "/".join(parts), what="t")
        except PathEscapeError:
            return
        assert is_inside(result, root)


@pytest.mark.parametrize(
    "path",
    [
        ".git/hooks/x",
        "./.git/config",
        ".GIT/hooks",
        "x/../.git/hooks",
        ".git./hooks",
        ".git /x",
        "%2egit/hooks",
        "a\\.git\\hooks",
        "ＧＩＴ/../.Git/x",
        "sub/.git",
    ],
)
def test_inside_git_dir_any_spelling(path: str) -> None:
    assert inside_git_dir(path)


def test_inside_git_dir_through_symlink(tmp_path: Path) -> None:
    (tmp_path / ".git" / "hooks").mkdir(parents=True)
    (tmp_path / "hooks").symlink_to(tmp_path / ".git" / "hooks")
    assert inside_git_dir("hooks/post-checkout", tmp_path)
    assert not inside_git_dir("docs/gitignore.md", tmp_path)
    assert not inside_git_dir(".github/x.md", tmp_path)
