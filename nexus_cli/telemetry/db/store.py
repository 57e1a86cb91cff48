"""The one module that opens ``telemetry.db`` for analytics, and brings its schema up to date.

:func:`opened` opens the database (created 0600 when missing), brings its schema up to date and
then folds in the recorder's journal and brings the roll-ups up to date
(:func:`nexus_cli.telemetry.db.fold.fold`, the one write a read makes). The schema is the
numbered migrations of :mod:`~nexus_cli.telemetry.db.versions`, run by
:mod:`nexus_cli.migrations` (the runner ``tasks.db`` uses too) and counted in ``PRAGMA
user_version``. The first use of a new (or older) database migrates it under the file lock
:data:`MIGRATE_LOCK`, so concurrent first uses wait for one another; this module decides when the
long steps of m011 and m012 run, with their progress bar.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from nexus_cli import locks, migrations, paths, sqlite_open
from nexus_cli.errors import StateError
from nexus_cli.telemetry.db import fold, progress, upgrade, versions
from nexus_cli.telemetry.db.handle import Db

BUSY_TIMEOUT_SECONDS = 5.0
SHOW_PROGRESS_FROM = 100_000  # events: smaller databases migrate in well under a second
MIGRATE_LOCK = "telemetry.migrate.lock"  # beside telemetry.db: one first use migrates at a time
# A recorder's own fold (the journal grown past its size) migrates only a database this small;
# a larger one is upgraded by the next read or `nexus telemetry rebuild`, with a progress bar.
INLINE_UPGRADE_MAX = 20_000


def _before_migrating(conn: sqlite3.Connection) -> None:
    """Under the migration lock, outside the transaction: WAL (a setting kept in the file, which
    no transaction may change) and the records of the old runner."""
    conn.execute("PRAGMA journal_mode=WAL")
    versions.take_over_sqlite_utils_records(conn)


def database_path() -> str:
    return paths.telemetry_db_str()


def _open(path: str) -> sqlite3.Connection:
    conn = sqlite_open.open_private(path, timeout=BUSY_TIMEOUT_SECONDS)
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # a damaged file fails here
    return conn


def _events(conn: sqlite3.Connection) -> int:
    try:
        return int(conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0])
    except sqlite3.OperationalError:  # a new database: no events table yet
        return 0


class UpgradePending(StateError):
    """The database needs the long one-time upgrade (m011) that a recorder's fold leaves to
    the next read (:func:`migrated` with ``upgrade=False``)."""


def migrate(conn: sqlite3.Connection, path: str, *, upgrade: bool = True) -> int:
    """Apply pending migrations (one ``PRAGMA`` read when there are none); returns how many ran.

    A large database shows a progress bar on a terminal: the events copied into the compact
    layout (in chunks that commit, see :func:`versions.copy_events`), their times converted to
    whole milliseconds (:func:`versions.convert_times`, the same way), then the rest. With
    ``upgrade`` False, a database needing such a copy with more than INLINE_UPGRADE_MAX events is
    left as it is: :class:`UpgradePending`.
    """
    first = migrations.version(conn)
    if first == versions.LATEST:
        return 0
    lock = os.path.join(os.path.dirname(path) or ".", MIGRATE_LOCK)
    events = _events(conn)
    show = events >= SHOW_PROGRESS_FROM
    if (
        not upgrade
        and events > INLINE_UPGRADE_MAX
        and (versions.copy_pending(conn) or versions.times_pending(conn))
    ):
        raise UpgradePending(
            f"the telemetry database {path} needs a one-time upgrade",
            hint="any read (`nexus stats`) or `nexus telemetry rebuild` upgrades it",
        )
    ran = 0
    if versions.copy_pending(conn):
        _move(
            conn,
            lock,
            "copying events",
            events,
            show,
            versions.copy_pending,
            "event_rows",
            versions.copy_events,
        )
        ran += _run(
            conn, path, lock, show=show, upto=versions.COMPACTED_AT
        )  # so m012 converts in chunks
    if versions.times_pending(conn):
        what = "converting event times"
        _move(
            conn,
            lock,
            what,
            events,
            show,
            versions.times_pending,
            "event_rows_ms",
            versions.convert_times,
        )
    ran += _run(conn, path, lock, show=show)
    if 0 < first < versions.TIMED_AT <= migrations.version(conn):
        _give_back_free_pages(conn)
    return ran


def _move(
    conn: sqlite3.Connection,
    lock: str,
    what: str,
    events: int,
    show: bool,
    pending: Callable[[sqlite3.Connection], bool],
    target: str,
    step: Callable[[sqlite3.Connection, progress.Tick], None],
) -> None:
    """One chunked step before a migration (:func:`versions.copy_events`,
    :func:`versions.convert_times`), under ``lock``, with a progress bar that starts at the rows
    ``target`` already holds."""
    label = f"upgrading the telemetry database: {what}"
    with locks.locked(lock), progress.bar(label, events, show=show) as tick:
        conn.execute("PRAGMA journal_mode=WAL")
        if pending(conn):  # still: another process may have upgraded it meanwhile
            tick(upgrade.rows_in(conn, target))
            step(conn, tick)


def _run(
    conn: sqlite3.Connection, path: str, lock: str, *, show: bool, upto: int | None = None
) -> int:
    """The pending migrations up to number ``upto`` (all by default), under ``lock``."""
    label = "upgrading the telemetry database"
    with progress.bar(label, None, show=show) as tick:
        # SQLite reports no progress while it builds an index; its VM-step callback keeps the
        # bar (and its elapsed time) moving.
        conn.set_progress_handler(lambda: tick(1) or 0, 1_000_000)
        try:
            return migrations.migrate(
                conn,
                versions.MIGRATIONS,
                what=f"the telemetry database {path}",
                lock=lock,
                before=_before_migrating,
                upto=upto,
            )
        finally:
            conn.set_progress_handler(None, 0)


def _give_back_free_pages(conn: sqlite3.Connection) -> None:
    """VACUUM when most of the file is free pages (the old events table and its indexes after
    m011_compact_events), so the file shrinks. VACUUM is atomic; when another process holds the
    database it is skipped (the free pages are reused by later events)."""
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    if free * 4 < pages or free < 256:
        return
    with contextlib.suppress(sqlite3.OperationalError):  # busy: another process has it open
        conn.execute("VACUUM")


@contextmanager
def opened(path: str | None = None) -> Iterator[Db]:
    """The telemetry database, migrated and folded: what every reading command opens.

    Its one write is :func:`fold.fold` (the journal into ``events``, new events into the
    roll-ups), so a read sees the events recorded just before it.
    """
    with migrated(path) as db:
        fold.fold(db)
        yield db


@contextmanager
def migrated(path: str | None = None, *, upgrade: bool = True) -> Iterator[Db]:
    """The telemetry database, migrated, nothing folded; any SQLite failure becomes one clear
    :class:`StateError`. ``upgrade`` False: :class:`UpgradePending` rather than a long
    one-time upgrade (:func:`migrate`)."""
    path = path or database_path()
    conn: sqlite3.Connection | None = None
    try:
        try:
            conn = _open(path)
        except OSError as exc:
            raise StateError(
                f"cannot open the telemetry database {path}: {exc.strerror or exc}",
                hint=paths.folder_error(path, exc).hint,
            ) from None
        migrate(conn, path, upgrade=upgrade)
        yield Db(conn, path)
    except UnicodeEncodeError:
        raise StateError(
            f"the telemetry database path {path!r} is not valid UTF-8",
            hint="point NEXUS_HOME at a folder whose path is UTF-8",
        ) from None
    except sqlite3.DatabaseError as exc:
        raise _database_error(path, exc) from None
    finally:
        if conn is not None:
            conn.close()


def _disk_full(path: str) -> bool:
    """Whether the file system holding ``path`` has (almost) no space left for its user."""
    try:
        info = os.statvfs(os.path.dirname(path) or ".")
    except OSError:
        return False
    return info.f_bavail * info.f_frsize < 64 * 1024


def _database_error(path: str, exc: sqlite3.DatabaseError) -> StateError:
    """A full disk or a read-only file is said as such, not as a corrupt database."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and (
        code & 0xFF == sqlite3.SQLITE_FULL
        or (code & 0xFF == sqlite3.SQLITE_IOERR and _disk_full(path))
    ):
        return StateError(
            f"cannot write the telemetry database {path}: the disk is full",
            hint="free some space and run the command again",
        )
    if code is not None and code & 0xFF in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN):
        return StateError(
            f"cannot write the telemetry database {path}: {exc}",
            hint="check the permissions of the file and its folder (or point NEXUS_HOME elsewhere)",
        )
    return StateError(
        f"cannot read the telemetry database {path}: {exc}",
        hint="run `nexus doctor`; move the file aside to start a new one (nothing is deleted)",
    )
