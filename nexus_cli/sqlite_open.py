"""The one way Nexus opens an SQLite database file (tasks, telemetry, doctor).

Nothing else in Nexus calls ``sqlite3.connect``. :mod:`nexus_cli.migrations` runs numbered
schema migrations on a connection opened here (``tasks.db`` and ``telemetry.db``).

Two shapes: :func:`open_private` for the owner that writes (the file is created 0600, its folder
0700, before SQLite sees it, so a database never exists world-readable even for a moment), and
:func:`open_read_only` for readers that must never create or change a file (``mode=ro``, with
the path escaped for SQLite's URI syntax so a ``?``, ``#`` or ``%`` in ``NEXUS_HOME`` cannot
change which file is opened). :func:`transaction` is the one way a write transaction is run.
This module is on the recording hot path: standard library only.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterator

from nexus_cli import paths


def uri_path(path: str) -> str:
    """``path`` escaped for an SQLite ``file:`` URI (``%``, ``?`` and ``#`` are special)."""
    return path.replace("%", "%25").replace("?", "%3f").replace("#", "%23")


def open_read_only(path: str | os.PathLike[str], *, timeout: float = 1.0) -> sqlite3.Connection:
    """Open an existing database read-only; never creates the file."""
    return sqlite3.connect(f"file:{uri_path(os.fspath(path))}?mode=ro", uri=True, timeout=timeout)


def open_private(path: str, *, timeout: float, uri: bool = False) -> sqlite3.Connection:
    """Open ``path`` for writing (autocommit: callers BEGIN themselves), created 0600 if missing.

    A folder that cannot be made raises the typed error of :func:`paths.ensure_private_dir`.
    ``uri``: the connection takes ``file:`` URIs, as :func:`attach_read_only` needs.
    """
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
    except FileExistsError:
        pass
    except (FileNotFoundError, NotADirectoryError):
        paths.ensure_private_dir(os.path.dirname(path) or ".")
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
    if uri:
        return sqlite3.connect(
            f"file:{uri_path(path)}", uri=True, timeout=timeout, isolation_level=None
        )
    return sqlite3.connect(path, timeout=timeout, isolation_level=None)


def attach_read_only(conn: sqlite3.Connection, path: str, schema: str) -> None:
    """Attach the existing database ``path`` to ``conn`` (opened with ``uri``) as ``schema``,
    read-only: a write to it fails."""
    conn.execute(f"ATTACH DATABASE ? AS {schema}", [f"file:{uri_path(path)}?mode=ro"])


@contextlib.contextmanager
def transaction(
    conn: sqlite3.Connection,
    mode: str = "IMMEDIATE",
    *,
    begin_error: Callable[[sqlite3.OperationalError], BaseException] | None = None,
) -> Iterator[None]:
    """``BEGIN <mode>`` … ``COMMIT`` around the block, rolled back when anything stops it first:
    an error, or Ctrl-C even just after ``BEGIN`` or during ``COMMIT`` (never a transaction left
    open for the next statement to trip on). ``begin_error`` turns a ``BEGIN`` that fails (the
    database busy or locked) into the caller's own error."""
    outer = conn.in_transaction  # then BEGIN fails, and that transaction is not this one's
    try:
        try:
            conn.execute(f"BEGIN {mode}")
        except sqlite3.OperationalError as exc:
            if begin_error is None:
                raise
            raise begin_error(exc) from None
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction and not outer:
            conn.execute("ROLLBACK")
        raise
