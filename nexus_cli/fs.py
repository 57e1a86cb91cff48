"""The one place that writes, locks and resolves files Nexus does not fully control.

Modelled on pip's ``utils/filesystem.py`` and pre-commit's ``file_lock.py``:

- :func:`atomic_write` writes through a uniquely named temp file beside the target, fsyncs it,
  renames it over the target and removes the temp file on any exit (an exception, a
  ``KeyboardInterrupt`` or the ``SystemExit`` that SIGTERM becomes). The file is opened with the
  mode it must have; the process umask is never changed. It never replaces a non-regular file (a
  FIFO, a device node, a folder) and never writes through a link.
- :func:`locked` holds an exclusive ``flock`` lock for a block: Nexus's one lock helper (the
  recording path uses :mod:`nexus_cli.locks` alone, which this builds on).
- Given ``root=`` (the repository, ``$NEXUS_HOME``, a worktree), :func:`atomic_write`,
  :func:`locked` and :func:`require_directory` open every folder from that root down without
  following links, through :mod:`nexus_cli.safe_path` (the path-chain module, which also reads,
  removes and checks paths under a root). Paths under Nexus's roots always pass ``root``.
- :func:`resolve_inside` turns a relative path read from repository content or a state file into
  an absolute one, refusing anything that resolves (after symlinks) outside its root.
- :func:`inside_git_dir` says whether a path names something in a ``.git`` folder, in any spelling.

Standard library only: the recorder and start-up paths use it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from nexus_cli import safe_path
from nexus_cli.errors import StateError, UsageError
from nexus_cli.locks import hint_for
from nexus_cli.safe_path import LinkInPathError, PathEscapeError

__all__ = [
    "LinkInPathError",
    "PathEscapeError",
    "atomic_write",
    "atomic_writer",
    "check_replaceable",
    "is_inside",
    "locked",
    "resolve_inside",
]


def _under(path: Path | str, root: Path | str | None) -> tuple[str, str]:
    """The root to open ``path`` from: ``root`` when given, else the folder that holds it."""
    text = os.fspath(path)
    if root is not None:
        return os.fspath(root), text
    return os.path.dirname(text) or ".", os.path.basename(text)


def check_replaceable(path: Path) -> None:
    """Raise unless ``path`` is missing or a regular file that is not a symbolic link."""
    safe_path.check_replaceable(path, str(path))


@contextlib.contextmanager
def atomic_writer(
    path: Path | str,
    *,
    mode: int | None = None,
    binary: bool = False,
    fsync: bool = True,
    root: Path | str | None = None,
) -> Iterator[IO[str] | IO[bytes]]:
    """Yield a file object; on a clean exit its content replaces ``path`` atomically.

    With ``root`` (one of Nexus's roots: the repository, ``$NEXUS_HOME``, a worktree) every folder
    from ``root`` down to ``path`` is opened without following links
    (:func:`nexus_cli.safe_path.atomic_writer`); without it only the last name is checked (a path
    the user typed, such as an ``--output`` file). ``mode`` defaults to the existing file's mode,
    else what ``os.open`` gives 0o666 under the process umask; the umask is never changed.
    """
    base, rel = _under(path, root)
    with safe_path.atomic_writer(base, rel, mode=mode, binary=binary, fsync=fsync) as fh:
        yield fh


def atomic_write(
    path: Path | str,
    data: str | bytes | Iterable[str],
    *,
    mode: int | None = None,
    fsync: bool = True,
    root: Path | str | None = None,
) -> Path:
    """Replace ``path`` with ``data`` (text, bytes or text chunks) atomically; return the path.

    ``root``: see :func:`atomic_writer`.
    """
    binary = isinstance(data, bytes | bytearray)
    with atomic_writer(path, mode=mode, binary=binary, fsync=fsync, root=root) as fh:
        if isinstance(data, str | bytes | bytearray):
            fh.write(data)  # type: ignore[arg-type, call-overload]
        else:
            for chunk in data:
                fh.write(chunk)  # type: ignore[arg-type, call-overload]
    return Path(path)


def locked(
    path: Path | str, *, blocking: bool = True, root: Path | str | None = None
) -> contextlib.AbstractContextManager[None]:
    """Hold an exclusive ``fcntl`` lock on the file ``path`` (created 0600 if missing).

    With ``blocking=False`` a lock held elsewhere raises :class:`ConflictError` at once. With
    ``root`` no folder between it and the lock file may be a link.
    """
    base, rel = _under(path, root)
    return safe_path.locked(base, rel, blocking=blocking)


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


def require_directory(path: Path, *, what: str, root: Path | str | None = None) -> Path:
    """Create ``path`` as a folder (parents too) or raise a clear error if something else is there.

    With ``root``, the folders from ``root`` down are opened and made one by one, and a link
    among them is refused (:class:`LinkInPathError`).
    """
    try:
        if root is None:
            path.mkdir(parents=True, exist_ok=True)
        else:
            safe_path.makedirs(root, path)
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
