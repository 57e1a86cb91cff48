"""Opening paths under a trusted root folder by folder, refusing a link anywhere in the chain.

Modelled on Go 1.24's ``os.Root`` and CPython's ``shutil.rmtree`` with ``dir_fd``: the root (the
repository's top level, ``$NEXUS_HOME``, a home folder) is opened once, and every folder below it
is opened relative to the one above with ``O_NOFOLLOW | O_DIRECTORY``, so a symbolic link at any
depth, committed to the repository or planted by a container, is refused with one line
(:class:`LinkInPathError`) instead of being followed out of the root. Each operation acts on the
verified folder's descriptor (``dir_fd=``), never on a path name that could be swapped meanwhile:

- :func:`read_bytes` opens the last name with ``O_NOFOLLOW`` too;
- :func:`atomic_writer` / :func:`write_atomic` create a uniquely named temp file in the final
  folder, fsync it and rename it over the target with ``os.replace(src_dir_fd=, dst_dir_fd=)``;
  the target must be missing or a regular file; the temp file goes on any exit;
- :func:`makedirs`, :func:`unlink`, :func:`rmdir`, :func:`rmtree`, :func:`locked` and
  :func:`open_file`;
- :func:`verified` checks a chain for callers that must hand a path name to another program
  (SQLite, git).

The root itself is trusted as given (links above it, such as ``/home -> /var/home``, are fine):
it comes from the user's current folder or environment. ``path`` may be relative to the root or
absolute under it; ``..`` and paths outside the root are refused. :mod:`nexus_cli.fs` builds its
helpers on this module. Standard library only: the recorder and start-up paths use it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from nexus_cli import locks
from nexus_cli.errors import ConflictError, NexusError, StateError
from nexus_cli.locks import hint_for

__all__ = [
    "LinkInPathError",
    "PathEscapeError",
    "atomic_writer",
    "locked",
    "makedirs",
    "open_dir",
    "open_file",
    "read_bytes",
    "rmdir",
    "rmtree",
    "unlink",
    "verified",
    "write_atomic",
]

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC

PathLike = str | os.PathLike[str]


class PathEscapeError(NexusError):
    """A path read from untrusted content points outside the folder it must stay in."""

    category = "path_escape"


class LinkInPathError(PathEscapeError):
    """A folder (or file) on a path under one of Nexus's roots is a symbolic link."""


def split(root: PathLike, path: PathLike) -> list[str]:
    """The components of ``path`` below ``root`` (``path`` relative to it, or absolute under it)."""
    text = os.fspath(path)
    if "\x00" in text:
        raise PathEscapeError(f"{text!r} is not a usable path")
    if os.path.isabs(text):
        base = os.path.abspath(os.fspath(root))
        full = os.path.abspath(text)
        if full != base and not full.startswith(base.rstrip(os.sep) + os.sep):
            raise PathEscapeError(f"{text} is not inside {base}")
        text = full[len(base) :]
    parts = [p for p in text.split(os.sep) if p not in ("", ".")]
    if ".." in parts:
        raise PathEscapeError(f"{os.fspath(path)!r} climbs out of {os.fspath(root)} with '..'")
    return parts


def _shown(root: PathLike, parts: list[str]) -> str:
    return os.path.join(os.fspath(root), *parts)


def _link_error(root: PathLike, parts: list[str]) -> LinkInPathError:
    return LinkInPathError(
        f"{_shown(root, parts)} is a symbolic link; Nexus does not follow links under "
        f"{os.fspath(root)}",
        hint="replace the link with a real folder or file (in a repository: git rm it)",
    )


def _is_link(dir_fd: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _step(
    fd: int, root: PathLike, parts: list[str], i: int, *, create: bool, mode: int, what: str
) -> int:
    """Open folder ``parts[i]`` below ``fd`` (made first when ``create``); the new descriptor."""
    name = parts[i]
    for _ in range(2):
        try:
            return os.open(name, _DIR_FLAGS, dir_fd=fd)
        except FileNotFoundError:
            if not create:
                raise
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR) and _is_link(fd, name):
                raise _link_error(root, parts[: i + 1]) from None
            if exc.errno == errno.ENOTDIR:
                raise StateError(
                    f"cannot {what} {_shown(root, parts)}: "
                    f"{_shown(root, parts[: i + 1])} is not a folder",
                    hint="move that file aside and run the command again",
                ) from None
            raise
        try:
            os.mkdir(name, mode, dir_fd=fd)
        except FileExistsError:
            pass  # made meanwhile: the next open says what it is
        except OSError as exc:
            raise StateError(
                f"cannot {what} {_shown(root, parts[: i + 1])}: {exc.strerror or exc}",
                hint=hint_for(exc),
            ) from None
    raise StateError(f"cannot {what} {_shown(root, parts)}: its folders keep changing")


def _open_chain(
    root: PathLike, parts: list[str], *, create: bool, mode: int = 0o777, what: str = "open"
) -> int:
    fd = os.open(os.fspath(root), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)  # trusted as given
    try:
        for i in range(len(parts)):
            new = _step(fd, root, parts, i, create=create, mode=mode, what=what)
            os.close(fd)
            fd = new
    except BaseException:
        os.close(fd)
        raise
    return fd


@contextlib.contextmanager
def open_dir(
    root: PathLike, path: PathLike = "", *, create: bool = False, mode: int = 0o777
) -> Iterator[int]:
    """A descriptor of folder ``path`` under ``root``, opened folder by folder (made if ``create``).

    A missing folder raises ``FileNotFoundError`` unless ``create``; a link raises
    :class:`LinkInPathError`.
    """
    fd = _open_chain(root, split(root, path), create=create, mode=mode)
    try:
        yield fd
    finally:
        os.close(fd)


@contextlib.contextmanager
def _parent(
    root: PathLike, path: PathLike, *, create: bool, what: str, missing_raw: bool = True
) -> Iterator[tuple[int, str, list[str]]]:
    """The descriptor of the folder holding ``path``, its last name, and all its components.

    A missing folder raises ``FileNotFoundError`` when ``missing_raw``, else a StateError.
    """
    parts = split(root, path)
    if not parts:
        raise PathEscapeError(f"{os.fspath(path)} names the folder {os.fspath(root)} itself")
    try:
        fd = _open_chain(root, parts[:-1], create=create, what=what)
    except FileNotFoundError as exc:
        if missing_raw:
            raise
        raise StateError(f"cannot {what} {_shown(root, parts)}: {exc.strerror or exc}") from None
    except OSError as exc:
        raise StateError(
            f"cannot {what} {_shown(root, parts)}: {exc.strerror or exc}", hint=hint_for(exc)
        ) from None
    try:
        yield fd, parts[-1], parts
    finally:
        os.close(fd)


def makedirs(root: PathLike, path: PathLike, *, mode: int = 0o777) -> None:
    """``mkdir -p`` of ``path`` under ``root``, refusing links at every depth (``root`` exists)."""
    try:
        with open_dir(root, path, create=True, mode=mode):
            pass
    except OSError as exc:
        shown = _shown(root, split(root, path))
        raise StateError(
            f"cannot create {shown}: {exc.strerror or exc}", hint=hint_for(exc)
        ) from None


def open_file(
    root: PathLike, path: PathLike, flags: int, mode: int = 0o666, *, makedirs: bool = False
) -> int:
    """``os.open`` of ``path`` under ``root`` with ``O_NOFOLLOW``: the caller closes the descriptor.

    ``makedirs`` creates the folders above it first. A missing file raises ``FileNotFoundError``.
    """
    with _parent(root, path, create=makedirs, what="open") as (fd, name, parts):
        try:
            return os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP and _is_link(fd, name):
                raise _link_error(root, parts) from None
            raise


def read_bytes(root: PathLike, path: PathLike) -> bytes:
    """The content of the regular file ``path`` under ``root`` (``FileNotFoundError`` if missing)."""
    fd = open_file(root, path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise ConflictError(f"{_shown(root, split(root, path))} is not a regular file")
        return fh.read()


def _check_replaceable(dir_fd: int, name: str, shown: str) -> None:
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StateError(f"cannot inspect {shown}: {exc.strerror or exc}") from None
    if stat.S_ISLNK(st.st_mode):
        raise ConflictError(
            f"{shown} is a symbolic link; Nexus does not write through links",
            hint="remove the link or choose another path",
        )
    if not stat.S_ISREG(st.st_mode):
        raise ConflictError(
            f"{shown} is not a regular file (a folder, FIFO or device); it is left alone",
            hint="choose a path to a regular file",
        )


@contextlib.contextmanager
def atomic_writer(
    root: PathLike,
    path: PathLike,
    *,
    mode: int | None = None,
    binary: bool = False,
    fsync: bool = True,
    makedirs: bool = False,
) -> Iterator[IO[str] | IO[bytes]]:
    """Yield a file object; on a clean exit its content replaces ``path`` under ``root``.

    The temp file is made with a unique name in the target's own folder (opened folder by folder,
    so the rename never crosses file systems and never leaves the root) and removed whatever
    happens in the block. ``mode`` defaults to the replaced file's mode, else what ``os.open``
    gives 0o666 under the process umask (never read or changed: the MCP server has threads).
    """
    with _parent(root, path, create=makedirs, what="write", missing_raw=False) as (
        dir_fd,
        name,
        parts,
    ):
        shown = _shown(root, parts)
        _check_replaceable(dir_fd, name, shown)
        if mode is None:
            with contextlib.suppress(OSError):
                mode = stat.S_IMODE(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
        tmp = f".{name[:200]}.{os.urandom(6).hex()}.tmp"
        try:
            fd = os.open(tmp, _TEMP_FLAGS, 0o666, dir_fd=dir_fd)  # the kernel applies the umask
        except OSError as exc:
            raise StateError(
                f"cannot write {shown}: {exc.strerror or exc}", hint=hint_for(exc)
            ) from None
        try:
            if mode is not None:
                os.fchmod(fd, mode)  # exactly the mode asked for (or the replaced file's)
            with os.fdopen(fd, "wb" if binary else "w", encoding=None if binary else "utf-8") as fh:
                yield fh
                fh.flush()
                if fsync:
                    os.fsync(fh.fileno())
            _check_replaceable(dir_fd, name, shown)
            os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except OSError as exc:
            raise StateError(
                f"cannot write {shown}: {exc.strerror or exc}", hint=hint_for(exc)
            ) from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp, dir_fd=dir_fd)


def write_atomic(
    root: PathLike,
    path: PathLike,
    data: str | bytes,
    *,
    mode: int | None = None,
    fsync: bool = True,
    makedirs: bool = False,
) -> None:
    """Replace ``path`` under ``root`` with ``data`` atomically (see :func:`atomic_writer`)."""
    binary = isinstance(data, bytes | bytearray)
    with atomic_writer(root, path, mode=mode, binary=binary, fsync=fsync, makedirs=makedirs) as fh:
        fh.write(data)  # type: ignore[arg-type]


def unlink(root: PathLike, path: PathLike, *, missing_ok: bool = True) -> bool:
    """Remove the file ``path`` under ``root``; whether something was removed.

    A link as the last name is removed itself (never what it points to), like ``rm``.
    """
    try:
        with _parent(root, path, create=False, what="remove") as (fd, name, _):
            os.unlink(name, dir_fd=fd)
    except FileNotFoundError:
        if missing_ok:
            return False
        raise
    return True


def rmdir(root: PathLike, path: PathLike) -> None:
    """Remove the empty folder ``path`` under ``root`` (``OSError`` if it is not empty)."""
    with _parent(root, path, create=False, what="remove") as (fd, name, parts):
        if _is_link(fd, name):
            raise _link_error(root, parts)
        os.rmdir(name, dir_fd=fd)


def rmtree(root: PathLike, path: PathLike, *, missing_ok: bool = True) -> bool:
    """Remove the folder ``path`` under ``root`` and everything in it; whether it was there.

    The folders down to it are opened without following links, and :func:`shutil.rmtree` works
    from that descriptor (it never follows a link inside the tree either).
    """
    try:
        with _parent(root, path, create=False, what="remove") as (fd, name, parts):
            if _is_link(fd, name):
                raise _link_error(root, parts)
            shutil.rmtree(name, dir_fd=fd)
    except FileNotFoundError:
        if missing_ok:
            return False
        raise
    return True


def verified(root: PathLike, path: PathLike) -> Path:
    """``root / path`` after checking that no folder on the way is a link (the last name may be
    missing; if present it must not be a link either).

    For the few callers that must pass a path name to another program (SQLite, git): a link
    committed to the repository is refused; a swap between this check and that program's open is
    not (those files live in folders only the user writes).
    """
    with _parent(root, path, create=False, what="open") as (fd, name, parts):
        if _is_link(fd, name):
            raise _link_error(root, parts)
        return Path(_shown(root, parts))


@contextlib.contextmanager
def locked(
    root: PathLike, path: PathLike, *, blocking: bool = True, makedirs: bool = False
) -> Iterator[None]:
    """Hold an exclusive ``flock`` on the lock file ``path`` under ``root`` (made 0600 if missing).

    With ``blocking=False`` a lock held elsewhere raises :class:`ConflictError` at once.
    """
    shown = _shown(root, split(root, path))
    try:
        fd = open_file(root, path, os.O_RDWR | os.O_CREAT, 0o600, makedirs=makedirs)
    except OSError as exc:
        raise locks.open_error(shown, exc) from None
    with locks.holding(fd, shown, blocking=blocking):
        yield
