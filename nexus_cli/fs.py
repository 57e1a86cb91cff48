"""The one place that writes, locks and resolves files Nexus does not fully control.

Modelled on pip's ``utils/filesystem.py`` and pre-commit's ``file_lock.py``:

- :func:`atomic_write` writes through a temp file in a private folder made by :mod:`tempfile`
  beside the target, fsyncs it, renames it over the target and removes the temp file and folder
  on any exit (an exception, a ``KeyboardInterrupt`` or the ``SystemExit`` that SIGTERM becomes).
  The file is opened with the mode it must have; the process umask is never changed. It never
  replaces a non-regular file (a FIFO, a device node, a folder) and never writes through a link.
- :func:`locked` (re-exported from :mod:`nexus_cli.locks`, which the recording path imports
  alone) holds an exclusive ``flock`` lock for a block: Nexus's one lock helper.
- :func:`resolve_inside` turns a relative path read from repository content or a state file into
  an absolute one, refusing anything that resolves (after symlinks) outside its root.
- :func:`inside_git_dir` says whether a path names something in a ``.git`` folder, in any spelling.

Standard library only: the recorder and start-up paths use it.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO
from urllib.parse import unquote

from nexus_cli.errors import ConflictError, NexusError, StateError, UsageError
from nexus_cli.locks import hint_for, locked

__all__ = [
    "PathEscapeError",
    "atomic_write",
    "atomic_writer",
    "check_replaceable",
    "inside_git_dir",
    "is_inside",
    "locked",
    "resolve_inside",
]


# A new file, never through a link at the last component; the name is unique in a private folder.
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class PathEscapeError(NexusError):
    """A path read from untrusted content points outside the folder it must stay in."""

    category = "path_escape"


def check_replaceable(path: Path) -> None:
    """Raise unless ``path`` is missing or a regular file that is not a symlink."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StateError(f"cannot inspect {path}: {exc.strerror or exc}") from None
    if stat.S_ISLNK(st.st_mode):
        raise ConflictError(
            f"{path} is a symbolic link; Nexus does not write through links",
            hint="remove the link or choose another path",
        )
    if not stat.S_ISREG(st.st_mode):
        raise ConflictError(
            f"{path} is not a regular file (a folder, FIFO or device); it is left alone",
            hint="choose a path to a regular file",
        )


@contextlib.contextmanager
def atomic_writer(
    path: Path | str, *, mode: int | None = None, binary: bool = False, fsync: bool = True
) -> Iterator[IO[str] | IO[bytes]]:
    """Yield a file object; on a clean exit its content replaces ``path`` atomically.

    The temp file lies in a private folder that :func:`tempfile.mkdtemp` makes beside ``path`` (so
    the rename never crosses file systems) and both are removed whatever happens in the block.
    ``mode`` defaults to the existing file's mode, else what ``os.open`` gives 0o666 under the
    process umask (0o644 for the usual 022). The umask is never read or changed: it is a
    process-wide setting, and the MCP server writes from several threads.
    """
    target = Path(path)
    check_replaceable(target)
    if mode is None:
        with contextlib.suppress(OSError):
            mode = stat.S_IMODE(os.stat(target).st_mode)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        private = tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise StateError(
            f"cannot write {target}: {exc.strerror or exc}", hint=hint_for(exc)
        ) from None
    tmp = os.path.join(private, "data")
    try:
        fd = os.open(tmp, _NEW_FILE, 0o666)  # the kernel applies the umask
        if mode is not None:
            os.fchmod(fd, mode)  # exactly the mode asked for (or the replaced file's)
        with os.fdopen(fd, "wb" if binary else "w", encoding=None if binary else "utf-8") as fh:
            yield fh
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        check_replaceable(target)
        os.replace(tmp, target)
    except OSError as exc:
        raise StateError(
            f"cannot write {target}: {exc.strerror or exc}", hint=hint_for(exc)
        ) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        with contextlib.suppress(OSError):
            os.rmdir(private)


def atomic_write(
    path: Path | str,
    data: str | bytes | Iterable[str],
    *,
    mode: int | None = None,
    fsync: bool = True,
) -> Path:
    """Replace ``path`` with ``data`` (text, bytes or text chunks) atomically; return the path."""
    binary = isinstance(data, bytes | bytearray)
    with atomic_writer(path, mode=mode, binary=binary, fsync=fsync) as fh:
        if isinstance(data, str | bytes | bytearray):
            fh.write(data)  # type: ignore[arg-type, call-overload]
        else:
            for chunk in data:
                fh.write(chunk)  # type: ignore[arg-type, call-overload]
    return Path(path)


def is_inside(path: Path | str, root: Path | str) -> bool:
    """Whether ``path`` (resolved after symlinks) is ``root`` or below it."""
    real = os.path.realpath(path)
    real_root = os.path.realpath(root)
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def resolve_inside(
    root: Path | str, relative: str | Path, *, what: str, allow_root: bool = False
) -> Path:
    """``root / relative`` resolved after symlinks; :class:`PathEscapeError` if it leaves ``root``.

    ``relative`` comes from untrusted content: absolute paths, NUL bytes, backslashes and ``..``
    that climb out are refused; a symlink anywhere on the way that leads outside ``root`` is
    refused too. ``what`` names the value for the message (``"template x.yaml: files entry"``).
    """
    text = os.fspath(relative)
    if not text or "\x00" in text:
        raise PathEscapeError(f"{what}: {text!r} is not a usable path")
    if "\\" in text:
        raise PathEscapeError(f"{what}: {text!r} contains a backslash")
    if os.path.isabs(text):
        raise PathEscapeError(f"{what}: {text!r} must be relative to {root}")
    real_root = os.path.realpath(root)
    candidate = os.path.realpath(os.path.join(real_root, text))
    if candidate == real_root:
        if allow_root:
            return Path(candidate)
        raise PathEscapeError(f"{what}: {text!r} names the folder itself, not something in it")
    if not candidate.startswith(real_root.rstrip(os.sep) + os.sep):
        raise PathEscapeError(
            f"{what}: {text!r} resolves outside {root}",
            hint="paths in repository content must stay inside it (symbolic links included)",
        )
    return Path(candidate)


def _folded(part: str) -> str:
    """A path component as file systems may see it: NFKC, case-folded, trailing dots/spaces cut."""
    text = unquote(part)
    text = unicodedata.normalize("NFKC", text).casefold()
    return text.rstrip(". ")


def inside_git_dir(path: Path | str, root: Path | str | None = None) -> bool:
    """Whether ``path`` names a ``.git`` folder or anything in one, in any spelling.

    Looks at every component (``.GIT``, ``.git.``, ``%2egit``, ``git~1``-free NFKC forms), and,
    when ``root`` is given, at the resolved path too, so a symlink into ``.git`` counts.
    """
    text = os.fspath(path).replace("\\", "/")
    if any(_folded(part) in (".git", "git~1") for part in text.split("/")):
        return True
    if root is not None:
        real = os.path.realpath(os.path.join(os.fspath(root), text))
        rel = os.path.relpath(real, os.path.realpath(root))
        if any(_folded(part) == ".git" for part in rel.split(os.sep)):
            return True
    return False


def require_directory(path: Path, *, what: str) -> Path:
    """Create ``path`` as a folder (parents too) or raise a clear error if something else is there."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UsageError(
            f"{what} {path} exists and is not a folder",
            hint="point it at a folder (or remove the file)",
        ) from None
    except NotADirectoryError:
        raise UsageError(
            f"{what} {path} is below a file, not a folder",
            hint="point it at a folder",
        ) from None
    except OSError as exc:
        raise StateError(
            f"cannot create {what} {path}: {exc.strerror or exc}", hint=hint_for(exc)
        ) from None
    return path
