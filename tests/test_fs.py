from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_cli.errors import ConflictError, StateError
from nexus_cli.fs import (
    LinkInPathError,
    PathEscapeError,
    atomic_write,
    check_replaceable,
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


def _current_umask() -> int:
    current = os.umask(0o022)  # the test's own reading; Nexus never calls os.umask
    os.umask(current)
    return current


def test_atomic_write_modes(tmp_path: Path) -> None:
    """New files get 0o666 under the umask; an explicit mode is exact; a replaced file keeps its."""
    previous = os.umask(0o027)
    try:
        atomic_write(tmp_path / "new", "x")
        atomic_write(tmp_path / "exact", "x", mode=0o664)  # wider than the umask allows
        kept = tmp_path / "kept"
        kept.write_text("old")
        os.chmod(kept, 0o751)
        atomic_write(kept, "new")
        assert _current_umask() == 0o027
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "exact").stat().st_mode) == 0o664
    assert stat.S_IMODE(kept.stat().st_mode) == 0o751
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exact", "kept", "new"]


def test_atomic_write_from_threads_never_touches_the_umask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The umask is process-wide: a write in one thread (the MCP server) must not change it."""
    import threading

    expected = 0o666 & ~_current_umask()
    calls: list[int] = []
    real_umask = os.umask
    monkeypatch.setattr(os, "umask", lambda mask: calls.append(mask) or real_umask(mask))
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(20):
                atomic_write(tmp_path / f"t{n}-{i}", "x" * i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert calls == []
    modes = {stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert modes == {expected}
    assert len(list(tmp_path.iterdir())) == 80


def test_fs_has_no_umask_call() -> None:
    import nexus_cli.fs

    assert "umask(" not in Path(nexus_cli.fs.__file__).read_text()


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
        "    for _ in range(300):\n"  # short sleeps: a signal just before one is seen at the next
        "        time.sleep(0.1)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 143
    assert list(tmp_path.iterdir()) == []


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


def test_messages_and_hints_are_exact(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "l").symlink_to(tmp_path / "d")
    with pytest.raises(ConflictError) as link:
        atomic_write(tmp_path / "l", "x")
    assert (
        link.value.message
        == f"{tmp_path / 'l'} is a symbolic link; Nexus does not write through links"
    )
    assert link.value.hint == "remove the link or choose another path"
    with pytest.raises(ConflictError) as folder:
        atomic_write(tmp_path / "d", "x")
    assert folder.value.hint == "choose a path to a regular file"
    root = tmp_path / "root"
    root.mkdir()
    cases = {
        "a\x00": "w: 'a\\x00' is not a usable path",
        "a\\b": "w: 'a\\\\b' contains a backslash",
        "/etc": f"w: '/etc' must be relative to {root}",
        ".": "w: '.' names the folder itself, not something in it",
        "../x": f"w: '../x' resolves outside {root}",
    }
    for value, message in cases.items():
        with pytest.raises(PathEscapeError) as info:
            resolve_inside(root, value, what="w")
        assert info.value.message == message
    with pytest.raises(PathEscapeError) as out:
        resolve_inside(root, "../x", what="w")
    assert (
        out.value.hint
        == "paths in repository content must stay inside it (symbolic links included)"
    )


def test_unreadable_parent_is_a_state_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(StateError) as info:
        atomic_write(tmp_path / "file" / "below", "x")
    assert info.value.message.startswith(f"cannot write {tmp_path / 'file' / 'below'}: ")
    assert "Not a directory" in info.value.message


def test_new_files_take_the_given_mode_or_the_umask(tmp_path: Path) -> None:
    atomic_write(tmp_path / "secret", "x", mode=0o600)
    assert (tmp_path / "secret").stat().st_mode & 0o777 == 0o600
    old = os.umask(0o027)
    try:
        atomic_write(tmp_path / "plain", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "plain").stat().st_mode & 0o777 == 0o640
    os.chmod(tmp_path / "secret", 0o640)
    atomic_write(tmp_path / "secret", "y")
    assert (tmp_path / "secret").stat().st_mode & 0o777 == 0o640


def test_write_into_a_missing_folder_names_the_target(tmp_path: Path) -> None:
    with pytest.raises(StateError) as info:
        atomic_write(tmp_path / "missing" / "x", "data")
    assert info.value.message.startswith(f"cannot write {tmp_path / 'missing' / 'x'}: ")


def test_is_inside_edges(tmp_path: Path) -> None:
    (tmp_path / "ab").mkdir()
    (tmp_path / "a").mkdir()
    assert is_inside(tmp_path / "a", tmp_path / "a")
    assert is_inside(tmp_path / "a" / "x", tmp_path / "a")
    assert not is_inside(tmp_path / "ab", tmp_path / "a")
    assert not is_inside(tmp_path, tmp_path / "a")
    assert is_inside("/etc/passwd", "/")
    assert resolve_inside("/", "etc", what="w") == Path("/etc")


def test_require_directory(tmp_path: Path) -> None:
    from nexus_cli.errors import UsageError
    from nexus_cli.fs import require_directory

    assert require_directory(tmp_path / "a" / "b", what="NEXUS_HOME") == tmp_path / "a" / "b"
    assert (tmp_path / "a" / "b").is_dir()
    (tmp_path / "f").write_text("x")
    with pytest.raises(UsageError) as exists:
        require_directory(tmp_path / "f", what="NEXUS_HOME")
    assert exists.value.message == f"NEXUS_HOME {tmp_path / 'f'} exists and is not a folder"
    assert exists.value.hint == "point it at a folder (or remove the file)"
    with pytest.raises(UsageError) as below:
        require_directory(tmp_path / "f" / "x", what="NEXUS_HOME")
    assert below.value.message == f"NEXUS_HOME {tmp_path / 'f' / 'x'} is below a file, not a folder"
    assert below.value.hint == "point it at a folder"


# -- pinned by mutation testing (2026-12-06) -----------------------------------------------------


def test_require_directory_accepts_an_existing_folder_and_opens_from_the_root(
    tmp_path: Path,
) -> None:
    from nexus_cli.fs import require_directory

    (tmp_path / "home").mkdir()
    assert require_directory(tmp_path / "home", what="NEXUS_HOME") == tmp_path / "home"
    root = tmp_path / "repo"
    root.mkdir()
    made = require_directory(root / ".nexus" / "state", what="state folder", root=root)
    assert made == root / ".nexus" / "state" and made.is_dir()
    assert require_directory(root / ".nexus" / "state", what="state folder", root=root) == made
    (root / "out").mkdir()
    (root / "link").symlink_to(root / "out", target_is_directory=True)
    with pytest.raises(LinkInPathError):
        require_directory(root / "link" / "x", what="state folder", root=root)
    assert list((root / "out").iterdir()) == []


def test_require_directory_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    from nexus_cli.fs import require_directory

    long = tmp_path / ("n" * 300)
    with pytest.raises(StateError) as caught:
        require_directory(long, what="NEXUS_HOME")
    assert caught.value.message == f"cannot create NEXUS_HOME {long}: File name too long"
    assert caught.value.hint is None


@pytest.mark.skipif(not os.path.isdir("/sys/kernel"), reason="needs sysfs at /sys")
def test_require_directory_names_permissions_when_the_system_refuses() -> None:
    """sysfs refuses a new folder at its top to every user (EPERM as root, EACCES otherwise)."""
    from nexus_cli.fs import require_directory

    target = Path("/sys/nexus-test-not-allowed")
    with pytest.raises(StateError) as caught:
        require_directory(target, what="NEXUS_HOME")
    assert caught.value.message in (
        f"cannot create NEXUS_HOME {target}: Operation not permitted",
        f"cannot create NEXUS_HOME {target}: Permission denied",
        f"cannot create NEXUS_HOME {target}: Read-only file system",
    )
    assert caught.value.hint == (
        "check the folder's permissions (or that the file system is writable)"
    )


def test_check_replaceable_names_the_path(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "dir").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "file")
    check_replaceable(tmp_path / "file")
    check_replaceable(tmp_path / "missing")
    with pytest.raises(ConflictError) as link:
        check_replaceable(tmp_path / "link")
    assert link.value.message == (
        f"{tmp_path / 'link'} is a symbolic link; Nexus does not write through links"
    )
    with pytest.raises(ConflictError) as folder:
        check_replaceable(tmp_path / "dir")
    assert folder.value.message == (
        f"{tmp_path / 'dir'} is not a regular file (a folder, FIFO or device); it is left alone"
    )


def _waiting_on(path: Path) -> bool:
    """Whether someone waits for a lock on ``path`` (a ``->`` line in /proc/locks)."""
    inode = f":{path.stat().st_ino} "
    return any(
        "->" in line and inode in line for line in Path("/proc/locks").read_text().splitlines()
    )


def test_locked_waits_by_default_and_refuses_at_once_when_asked(tmp_path: Path) -> None:
    lock = tmp_path / "state" / "x.lock"
    lock.parent.mkdir()
    outcome: list[str] = []

    def second() -> None:
        try:
            with locked(lock, root=tmp_path):
                outcome.append("acquired")
        except ConflictError as exc:
            outcome.append(f"refused: {exc.message}")

    with locked(lock, root=tmp_path):
        assert stat.S_IMODE(lock.stat().st_mode) == 0o600
        with pytest.raises(ConflictError), locked(lock, blocking=False):
            pass
        waiter = threading.Thread(target=second)
        waiter.start()
        deadline = time.monotonic() + 60
        while waiter.is_alive() and not _waiting_on(lock):
            assert time.monotonic() < deadline, "the second lock never waited"
            time.sleep(0.01)
    waiter.join(timeout=60)
    assert outcome == ["acquired"]
    (tmp_path / "out").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "out", target_is_directory=True)
    with pytest.raises(LinkInPathError), locked(tmp_path / "link" / "x.lock", root=tmp_path):
        pass
    assert list((tmp_path / "out").iterdir()) == []


def test_atomic_write_with_a_root_refuses_a_link_above_and_a_bare_name_is_in_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "repo"
    (root / "real").mkdir(parents=True)
    (tmp_path / "out").mkdir()
    (root / "link").symlink_to(tmp_path / "out", target_is_directory=True)
    with pytest.raises(LinkInPathError):
        atomic_write(root / "link" / "f", "planted", root=root)
    assert atomic_write(root / "real" / "f", "kept", root=root) == root / "real" / "f"
    assert list((tmp_path / "out").iterdir()) == []
    assert (root / "real" / "f").read_text() == "kept"
    monkeypatch.chdir(root / "real")
    assert atomic_write("bare.txt", "here") == Path("bare.txt")
    assert (root / "real" / "bare.txt").read_text() == "here"
