"""The path-chain module: every folder under a root is opened without following links.

Unit tests of :mod:`nexus_cli.safe_path`, property tests with a link at every depth, and the
issue's example end to end: a repository that commits ``.nexus/state`` (or ``.nexus``, or
``.nexus/worktrees``) as a link to a folder outside it cannot make ``nexus init``,
``workspace create`` or ``task create`` write there.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_cli import safe_path
from nexus_cli.errors import ConflictError, StateError
from nexus_cli.safe_path import LinkInPathError, PathEscapeError
from tests.conftest import git, run_nexus

NO_ENGINE = {"DOCKER_HOST": "unix:///nonexistent.sock"}


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# -- the example --------------------------------------------------------------------------


def _hostile_repo(git_repo: Path, outside: Path, linked: str) -> None:
    """Commit ``linked`` (below the repository) as a symbolic link to ``outside``."""
    (git_repo / ".nexus").mkdir(exist_ok=True)
    (git_repo / ".nexus" / "config.yaml").write_text("version: 1\n")
    link = git_repo / linked
    if link.is_dir() and not link.is_symlink():
        link.rmdir()
    link.symlink_to(outside, target_is_directory=True)
    git(git_repo, "add", "-f", ".nexus")
    git(git_repo, "commit", "-q", "-m", "hostile link")


# Commands that do not open the linked folder at all succeed (and still write nothing outside).
# (`task create` opens .nexus/state: the task database is prepared under its lock there.)
USES_NOT = {("init", ".nexus/worktrees"), ("task", ".nexus/worktrees")}


@pytest.mark.parametrize("linked", [".nexus/state", ".nexus/worktrees", ".nexus"])
@pytest.mark.parametrize(
    "command",
    [
        ("init",),
        ("workspace", "create", "feat", "--template", "bare"),
        ("task", "create", "a title", "--gate", "true"),
    ],
    ids=["init", "workspace-create", "task-create"],
)
def test_a_committed_link_cannot_redirect_nexus_writes(
    git_repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    linked: str,
    command: tuple[str, ...],
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    if linked == ".nexus":
        (outside / "config.yaml").write_text("version: 1\n")
        (git_repo / ".nexus").mkdir()
        (git_repo / ".nexus" / "config.yaml").write_text("version: 1\n")
        os.rename(git_repo / ".nexus", tmp_path / "unused")
        (git_repo / ".nexus").symlink_to(outside, target_is_directory=True)
        git(git_repo, "add", "-f", ".nexus")
        git(git_repo, "commit", "-q", "-m", "hostile link")
    else:
        _hostile_repo(git_repo, outside, linked)
    before = _files(outside)
    monkeypatch.chdir(git_repo)

    result = run_nexus(*command, env=NO_ENGINE)

    assert _files(outside) == before, "Nexus wrote through the committed link"
    if (command[0], linked) in USES_NOT:
        assert result.exit_code == 0, result.stderr  # the command never opens that folder
        return
    assert result.exit_code == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and "is a symbolic link" in lines[0], result.stderr
    assert str(git_repo / linked) in lines[0]
    assert all(line.startswith(("error: ", "hint: ")) for line in lines), result.stderr
    assert "Traceback" not in result.stderr


# -- operations under a root ----------------------------------------------------------------------


def test_regular_paths_work(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    safe_path.makedirs(root, "a/b")
    safe_path.write_atomic(root, "a/b/f", "one")
    assert safe_path.read_bytes(root, "a/b/f") == b"one"
    safe_path.write_atomic(root, root / "a" / "b" / "g", b"\x00", mode=0o600)
    assert stat.S_IMODE((root / "a" / "b" / "g").stat().st_mode) == 0o600
    safe_path.write_atomic(root, "c/d/e", "x", makedirs=True)
    assert (root / "c" / "d" / "e").read_text() == "x"
    with safe_path.locked(root, "a/l.lock"):
        pass
    assert stat.S_IMODE((root / "a" / "l.lock").stat().st_mode) == 0o600
    assert safe_path.verified(root, "a/b/f") == root / "a" / "b" / "f"
    assert safe_path.unlink(root, "a/b/f") is True
    assert safe_path.unlink(root, "a/b/f") is False
    with pytest.raises(FileNotFoundError):
        safe_path.unlink(root, "a/b/f", missing_ok=False)
    fd = safe_path.open_file(root, "a/log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.write(fd, b"x")
    os.close(fd)
    safe_path.unlink(root, "a/log")
    safe_path.unlink(root, "a/b/g")
    safe_path.unlink(root, "a/l.lock")
    safe_path.rmdir(root, "a/b")
    assert _files(root) == ["a", "c", "c/d", "c/d/e"]
    with pytest.raises(FileNotFoundError):
        safe_path.read_bytes(root, "a/missing")


def test_paths_outside_the_root_are_refused(tmp_path: Path) -> None:
    with pytest.raises(PathEscapeError, match="climbs out"):
        safe_path.write_atomic(tmp_path, "a/../../x", "x")
    with pytest.raises(PathEscapeError, match="is not inside"):
        safe_path.read_bytes(tmp_path / "a", tmp_path / "b")
    with pytest.raises(PathEscapeError, match="names the folder"):
        safe_path.write_atomic(tmp_path, tmp_path, "x")


def test_the_last_name_is_never_followed_or_replaced_unless_a_regular_file(tmp_path: Path) -> None:
    (tmp_path / "target").write_text("secret")
    (tmp_path / "link").symlink_to(tmp_path / "target")
    with pytest.raises(LinkInPathError):
        safe_path.read_bytes(tmp_path, "link")
    with pytest.raises(ConflictError, match="does not write through links"):
        safe_path.write_atomic(tmp_path, "link", "x")
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(ConflictError, match="not a regular file"):
        safe_path.write_atomic(tmp_path, "fifo", "x")
    with pytest.raises(ConflictError, match="not a regular file"):
        safe_path.read_bytes(tmp_path, "fifo")
    assert (tmp_path / "target").read_text() == "secret"
    (tmp_path / "file").write_text("x")
    with pytest.raises(StateError, match="is not a folder"):
        safe_path.write_atomic(tmp_path, "file/below", "x")


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("old")
    with pytest.raises(RuntimeError), safe_path.atomic_writer(tmp_path, "f") as fh:
        fh.write("new")  # type: ignore[arg-type]
        raise RuntimeError("boom")
    assert _files(tmp_path) == ["f"]
    assert (tmp_path / "f").read_text() == "old"


# -- a link at every depth ------------------------------------------------------------------------

Operation = Callable[[Path, str], object]


def _lock(root: Path, rel: str) -> None:
    with safe_path.locked(root, rel):
        pass


OPERATIONS: dict[str, Operation] = {
    "read": lambda root, rel: safe_path.read_bytes(root, rel),
    "write": lambda root, rel: safe_path.write_atomic(root, rel, "planted"),
    "write-makedirs": lambda root, rel: safe_path.write_atomic(root, rel, "x", makedirs=True),
    "makedirs": lambda root, rel: safe_path.makedirs(root, rel),
    "unlink": lambda root, rel: safe_path.unlink(root, rel),
    "rmdir": lambda root, rel: safe_path.rmdir(root, rel),
    "lock": _lock,
    "verified": lambda root, rel: safe_path.verified(root, rel),
    "open-append": lambda root, rel: os.close(
        safe_path.open_file(root, rel, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    ),
}

names = st.text(alphabet="abcxyz", min_size=1, max_size=4)


@given(
    parts=st.lists(names, min_size=1, max_size=5),
    depth=st.integers(min_value=0, max_value=4),
    operation=st.sampled_from(sorted(OPERATIONS)),
)
def test_a_link_at_any_depth_is_refused(parts: list[str], depth: int, operation: str) -> None:
    """A path of n components whose component i is a link (to a copy of the real folders outside
    the root) is refused by every operation, and nothing outside changes."""
    depth = min(depth, len(parts) - 1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        outside = Path(tmp) / "outside"
        real = root.joinpath(*parts[:depth])
        real.mkdir(parents=True)
        # outside holds what the rest of the path needs, so following the link would succeed
        (outside.joinpath(*parts[depth + 1 : -1])).mkdir(parents=True, exist_ok=True)
        leaf = outside.joinpath(*parts[depth + 1 :])
        if depth < len(parts) - 1 and not leaf.exists():
            leaf.write_text("victim") if operation != "rmdir" else leaf.mkdir()
        elif depth == len(parts) - 1:
            outside.rmdir()
            if operation == "rmdir":
                outside.mkdir()
            else:
                outside.write_text("victim")
        (real / parts[depth]).symlink_to(outside)
        before = {p: (p.read_bytes() if p.is_file() else None) for p in outside.rglob("*")}
        if operation == "unlink" and depth == len(parts) - 1:
            safe_path.unlink(root, "/".join(parts))  # removes the link itself, like rm
            assert not (real / parts[depth]).is_symlink()
            assert outside.read_text() == "victim"
            return
        with pytest.raises((LinkInPathError, ConflictError)) as info:
            OPERATIONS[operation](root, "/".join(parts))
        assert "symbolic link" in info.value.message
        if outside.is_dir():
            after = {p: (p.read_bytes() if p.is_file() else None) for p in outside.rglob("*")}
            assert after == before
        else:
            assert outside.read_text() == "victim"
        assert (real / parts[depth]).is_symlink()


@given(parts=st.lists(names, min_size=1, max_size=5), operation=st.sampled_from(sorted(OPERATIONS)))
def test_the_same_paths_without_links_work(parts: list[str], operation: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        target = root.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        if operation == "rmdir":
            target.mkdir()
        elif operation not in ("makedirs", "write-makedirs"):
            target.write_text("content")
        elif operation == "write-makedirs" and target.parent != root:
            target.parent.rmdir()
        OPERATIONS[operation](root, "/".join(parts))
        if operation in ("write", "write-makedirs"):
            assert target.read_text() in ("planted", "x")
        elif operation in ("unlink", "rmdir"):
            assert not target.exists()
        elif operation == "makedirs":
            assert target.is_dir()


# -- what removing and checking never do (pinned by mutation testing) ---------------------------


@pytest.mark.parametrize("operation", ["unlink", "rmdir", "verified", "rmtree"])
def test_removing_or_checking_never_creates_the_missing_folders_above(
    tmp_path: Path, operation: str
) -> None:
    act: dict[str, Operation] = {
        "unlink": lambda root, rel: safe_path.unlink(root, rel, missing_ok=False),
        "rmdir": lambda root, rel: safe_path.rmdir(root, rel),
        "verified": lambda root, rel: safe_path.verified(root, rel),
        "rmtree": lambda root, rel: safe_path.rmtree(root, rel, missing_ok=False),
    }
    with pytest.raises(FileNotFoundError):
        act[operation](tmp_path, "a/b/c")
    assert _files(tmp_path) == []


@pytest.mark.parametrize(
    ("operation", "verb"),
    [("unlink", "remove"), ("rmdir", "remove"), ("rmtree", "remove"), ("verified", "open")],
)
def test_a_file_in_the_chain_is_named_with_the_operation(
    tmp_path: Path, operation: str, verb: str
) -> None:
    (tmp_path / "file").write_text("kept")
    act: dict[str, Operation] = {
        "unlink": lambda root, rel: safe_path.unlink(root, rel),
        "rmdir": lambda root, rel: safe_path.rmdir(root, rel),
        "rmtree": lambda root, rel: safe_path.rmtree(root, rel),
        "verified": lambda root, rel: safe_path.verified(root, rel),
    }
    with pytest.raises(StateError) as caught:
        act[operation](tmp_path, "file/below/x")
    assert str(caught.value).startswith(f"cannot {verb} {tmp_path / 'file' / 'below'}: ")
    assert str(caught.value).endswith(f"{tmp_path / 'file'} is not a folder")
    assert caught.value.hint == "move that file aside and run the command again"
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "file").write_text("kept")
    with pytest.raises(StateError) as caught:
        act[operation](tmp_path, "d/file/below/x")
    assert caught.value.message == (
        f"cannot {verb} {tmp_path / 'd' / 'file' / 'below'}: "
        f"{tmp_path / 'd' / 'file'} is not a folder"
    )
    assert (tmp_path / "file").read_text() == "kept"


def test_a_link_error_says_how_to_fix_it(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)
    (tmp_path / "real" / "sub").mkdir()
    with pytest.raises(LinkInPathError) as caught:
        safe_path.write_atomic(tmp_path, "link/sub/f", "x")
    assert caught.value.message == (
        f"{tmp_path / 'link'} is a symbolic link; Nexus does not follow links under {tmp_path}"
    )
    assert caught.value.hint == (
        "replace the link with a real folder or file (in a repository: git rm it)"
    )
    assert _files(tmp_path) == ["link", "real", "real/sub"]


def test_makedirs_gives_the_mode_asked_for_and_one_line_when_it_cannot(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        safe_path.makedirs(tmp_path, "open/a")
        safe_path.makedirs(tmp_path, "private/b", mode=0o700)
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "open" / "a").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "private" / "b").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "private").stat().st_mode) == 0o700
    long = "n" * 300  # longer than a name may be: an OSError that is not "missing"
    with pytest.raises(StateError) as caught:
        safe_path.makedirs(tmp_path, tmp_path / "open" / long / "c")  # absolute under the root
    assert caught.value.message == (
        f"cannot create {tmp_path / 'open' / long / 'c'}: File name too long"
    )
    assert caught.value.hint is None


def test_open_file_and_write_defaults(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        os.close(safe_path.open_file(tmp_path, "made", os.O_WRONLY | os.O_CREAT))
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "made").stat().st_mode) == 0o644
    # The folders above are made only when asked for.
    with pytest.raises(FileNotFoundError):
        safe_path.open_file(tmp_path, "a/b/f", os.O_WRONLY | os.O_CREAT)
    with pytest.raises(StateError, match=r"^cannot write "):
        safe_path.write_atomic(tmp_path, "a/b/f", "x")
    assert _files(tmp_path) == ["made"]
    os.close(safe_path.open_file(tmp_path, "m/n/f", os.O_WRONLY | os.O_CREAT, makedirs=True))
    assert _files(tmp_path) == ["m", "m/n", "m/n/f", "made"]
    safe_path.rmtree(tmp_path, "m")
    (tmp_path / "file").write_text("kept")
    with pytest.raises(StateError, match=rf"^cannot open {re.escape(str(tmp_path))}/file/x: "):
        safe_path.open_file(tmp_path, "file/x/y", os.O_RDONLY)


def test_only_a_loop_on_the_last_name_is_reported_as_a_link(tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    with pytest.raises(FileExistsError):  # O_EXCL on a link: "exists", not "is a link"
        safe_path.open_file(tmp_path, "link", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    with pytest.raises(LinkInPathError):
        safe_path.open_file(tmp_path, "link", os.O_WRONLY | os.O_CREAT)
    assert _files(tmp_path) == ["link"]


def test_an_absolute_path_to_a_special_file_is_named_in_the_refusal(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(ConflictError) as caught:
        safe_path.read_bytes(tmp_path, tmp_path / "fifo")
    assert caught.value.message == f"{tmp_path / 'fifo'} is not a regular file"


def test_a_last_name_that_cannot_be_inspected_is_one_line(tmp_path: Path) -> None:
    long = "n" * 300
    with pytest.raises(StateError) as caught:
        safe_path.write_atomic(tmp_path, long, "x")
    assert caught.value.message == f"cannot inspect {tmp_path / long}: File name too long"
    assert _files(tmp_path) == []


def test_folders_made_for_a_write_and_open_dir_errors(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        safe_path.write_atomic(tmp_path, "a/b/f", "x", makedirs=True)
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "a" / "b").stat().st_mode) == 0o755
    (tmp_path / "file").write_text("kept")
    with (
        pytest.raises(StateError, match=rf"^cannot open {re.escape(str(tmp_path))}/file/x: "),
        safe_path.open_dir(tmp_path, "file/x"),
    ):
        pass
    with pytest.raises(PathEscapeError, match="is not a usable path"):
        safe_path.read_bytes(tmp_path, "fi\x00le")


def test_rmtree_removes_a_tree_and_says_whether_it_was_there(tmp_path: Path) -> None:
    (tmp_path / "a" / "b" / "c").mkdir(parents=True)
    (tmp_path / "a" / "b" / "c" / "f").write_text("x")
    (tmp_path / "a" / "kept").write_text("kept")
    assert safe_path.rmtree(tmp_path, "a/b") is True
    assert _files(tmp_path) == ["a", "a/kept"]
    assert safe_path.rmtree(tmp_path, "a/b") is False  # missing is fine by default
    with pytest.raises(FileNotFoundError):
        safe_path.rmtree(tmp_path, "a/b", missing_ok=False)
    assert _files(tmp_path) == ["a", "a/kept"]


def test_rmtree_refuses_a_link_as_the_last_name(tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "precious").write_text("kept")
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "link").symlink_to(tmp_path / "outside", target_is_directory=True)
    with pytest.raises(LinkInPathError) as caught:
        safe_path.rmtree(tmp_path / "root", "link")
    assert caught.value.message == (
        f"{tmp_path / 'root' / 'link'} is a symbolic link; Nexus does not follow links under "
        f"{tmp_path / 'root'}"
    )
    assert (tmp_path / "root" / "link").is_symlink()
    assert (tmp_path / "outside" / "precious").read_text() == "kept"


def test_split_drops_dots_and_accepts_the_file_system_root(tmp_path: Path) -> None:
    assert safe_path.split(tmp_path, "a/./b/.") == ["a", "b"]
    assert safe_path.split(tmp_path, tmp_path / "a" / "." / "b") == ["a", "b"]
    with pytest.raises(PathEscapeError, match="names the folder"):
        safe_path.write_atomic(tmp_path, "./.", "x")
    # "/" as the root: every absolute path is under it
    assert safe_path.split("/", "/etc/passwd") == ["etc", "passwd"]
    (tmp_path / "f").write_text("content")
    assert safe_path.read_bytes("/", tmp_path / "f") == b"content"
    assert _files(tmp_path) == ["f"]


# -- a folder the user may not open or write (as root: checked in a child that is not root) ------

NOBODY = 65534


def _as_user(action: Callable[[], object]) -> tuple[str, str, str | None]:
    """Run ``action`` as a user that the file permissions bind (in a forked child that drops to
    ``nobody`` when the tests run as root): the class name, message and hint of what it raised.

    The callers also use the same functions in this process: what a forked child runs is not seen
    by mutmut's test selection."""

    def outcome() -> tuple[str, str, str | None]:
        try:
            action()
        except StateError as exc:
            return type(exc).__name__, exc.message, exc.hint
        except Exception as exc:  # reported to the parent as text
            return type(exc).__name__, str(exc), None
        return "none", "", None

    if os.geteuid() != 0:
        return outcome()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 0
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            os.write(write, json.dumps(outcome()).encode())
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as fh:
        data = fh.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the child could not drop to nobody"
    kind, message, hint = json.loads(data)
    return kind, message, hint


PERMISSIONS_HINT = "check the folder's permissions (or that the file system is writable)"


def test_a_folder_that_cannot_be_made_is_one_line_with_a_hint() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        root.chmod(0o755)
        safe_path.makedirs(root, "ro", mode=0o555)
        assert stat.S_IMODE((root / "ro").stat().st_mode) == 0o555
        kind, message, hint = _as_user(lambda: safe_path.makedirs(root, "ro/a/b/c"))
        assert (kind, message, hint) == (
            "StateError",
            f"cannot open {root / 'ro' / 'a'}: Permission denied",
            PERMISSIONS_HINT,
        )
        kind, message, hint = _as_user(
            lambda: safe_path.write_atomic(root, "ro/a/b/f", "x", makedirs=True)
        )
        assert (kind, message, hint) == (
            "StateError",
            f"cannot write {root / 'ro' / 'a'}: Permission denied",
            PERMISSIONS_HINT,
        )
        assert _files(root) == ["ro"]


def test_a_folder_that_cannot_be_opened_is_one_line_with_a_hint() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        root.chmod(0o755)
        safe_path.makedirs(root, "closed")
        (root / "closed").chmod(0o000)
        kind, message, hint = _as_user(lambda: safe_path.makedirs(root, "closed/x/y"))
        assert (kind, message, hint) == (
            "StateError",
            f"cannot create {root / 'closed' / 'x' / 'y'}: Permission denied",
            PERMISSIONS_HINT,
        )
        (root / "closed").chmod(0o700)
        assert _files(root) == ["closed"]
