"""Numbered schema migrations for an SQLite database, counted in ``PRAGMA user_version``.

A database's migrations are a sequence of functions; the function at position N (counting from
1) is migration N and is named ``mNNN_what``. ``user_version`` holds how many have run. Once a
migration is released it is never renamed, reordered, removed or changed in a way that changes
what it does to a database it already ran on: a schema change is always a new function at the
end, with a comment saying why it exists.

:func:`migrate` costs one ``PRAGMA`` read when the database is up to date. Otherwise it takes
SQLite's write lock (``BEGIN EXCLUSIVE``, which waits up to the connection's busy timeout), reads
the version again, and runs the pending migrations and the version bump in that one transaction:
of two processes opening a new database at once, one migrates and the other then finds nothing
to do; a crash or an error leaves the database as it was. So a migration must use
``conn.execute`` only, never ``executescript`` (which commits) or ``PRAGMA journal_mode``.

With ``lock`` (a file beside the database), pending migrations also wait for that lock first
(:func:`nexus_cli.locks.locked`, no time limit), and ``before`` runs under it, outside the
transaction: what cannot run inside one (``PRAGMA journal_mode=WAL``) or must come first (taking
over the records of an older migration runner). Concurrent first uses then wait for the one that
migrates, however long its migrations take, instead of for SQLite's busy timeout.

Standard library only, like :mod:`nexus_cli.sqlite_open` that opens the connections.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Sequence

from nexus_cli import sqlite_open
from nexus_cli.errors import StateError
from nexus_cli.locks import locked

Migration = Callable[[sqlite3.Connection], None]


def version(conn: sqlite3.Connection) -> int:
    """How many migrations the database has had (``PRAGMA user_version``)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def check_names(migrations: Sequence[Migration]) -> None:
    """Raise ``ValueError`` unless migration N is named ``mNNN_…`` (a moved one is a bug)."""
    for number, migration in enumerate(migrations, start=1):
        if not migration.__name__.startswith(f"m{number:03d}_"):
            raise ValueError(f"migration {number} is named {migration.__name__!r}")


def migrate(
    conn: sqlite3.Connection,
    migrations: Sequence[Migration],
    *,
    what: str,
    lock: str | os.PathLike[str] | None = None,
    before: Migration | None = None,
    upto: int | None = None,
) -> int:
    """Run the migrations ``conn``'s database has not had, in one exclusive transaction.

    ``conn`` must be in autocommit mode (``isolation_level=None``, as :mod:`sqlite_open` opens
    it) and outside a transaction. ``what`` names the database in errors. With ``lock``, a
    pending migration first waits for that file lock and runs ``before(conn)`` under it (see the
    module's docstring). Returns how many ran. A database newer than ``migrations`` (made by a
    later Nexus) is a :class:`StateError`.
    """
    if conn.isolation_level is not None or conn.in_transaction:
        raise ValueError("migrate() needs an autocommit connection outside a transaction")
    latest = len(migrations)
    target = latest if upto is None else min(upto, latest)
    current = version(conn)
    if current == latest or target <= current < latest:
        return 0
    check_names(migrations)
    with locked(lock) if lock is not None else contextlib.nullcontext():
        if before is not None:
            before(conn)
        return _run(conn, migrations, what, target)


def _run(conn: sqlite3.Connection, migrations: Sequence[Migration], what: str, target: int) -> int:
    latest = len(migrations)
    with sqlite_open.transaction(conn, "EXCLUSIVE"):
        current = version(conn)  # another process may have migrated while we waited
        if current > latest:
            raise StateError(
                f"{what} has schema version {current}; this Nexus knows versions up to {latest}",
                hint="upgrade Nexus, or move the file aside if it can be rebuilt",
            )
        for number in range(current + 1, target + 1):
            migrations[number - 1](conn)
            conn.execute(f"PRAGMA user_version = {number}")
    return max(target - current, 0)
