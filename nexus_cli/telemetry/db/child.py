"""What Nexus runs in a child Python for the telemetry database.

``python -m nexus_cli.telemetry.db.child fold`` folds the journal into ``telemetry.db`` (the
recorder's own fold, once the journal grew past
:data:`nexus_cli.telemetry.journal.recorder.FOLD_BYTES`; see
:mod:`nexus_cli.telemetry.journal.child`): recording never imports SQLite, the fold needs it.
``... child build-part SOURCE PATH TOP`` is the child of a parallel roll-up build
(:func:`build_part`, :mod:`parallel_build`).
"""

from __future__ import annotations

import os
import sys

from nexus_cli.telemetry.db import fold, parallel_build, rollup_marks, rollup_sql, rollups, store
from nexus_cli.telemetry.db.handle import Db


def fold_journal() -> None:
    """Fold the journal into the telemetry database (migrated first). A database that needs
    the long one-time upgrade is left to the next read: recording never waits for it (the
    journal keeps the events meanwhile)."""
    try:
        with store.migrated(upgrade=False) as db:
            fold.fold_journal(db)
    except store.UpgradePending:
        return


def build_part(source: str, path: str, top: int) -> None:
    """The child of a parallel build: find every retry pair up to ``top`` in the database at
    ``source`` (read-only), then fold the chunks of events it takes from ``top`` down
    (:class:`parallel_build.Frontier`) into a new database at ``path`` that holds the roll-up
    tables only (:mod:`parallel_build`)."""
    parent = os.getppid()
    frontier = parallel_build.Frontier(f"{path}{parallel_build.FRONTIER_SUFFIX}", top)
    conn = parallel_build.open_part(path, source)
    try:
        conn.executescript(rollups.SCHEMA)
        conn.execute("CREATE TABLE maintenance (key TEXT PRIMARY KEY, value TEXT)")
        db = Db(conn, path)
        with db.atomic():  # every retry pair up to top, while the parent folds
            rollup_sql.add_retry_rows(conn, top)
            _put_part(db, top, 0)
        high, folded = top, 0
        while True:
            _end_if_orphaned(parent, path)
            low = frontier.take_down(high, rollups.BUILD_CHUNK)
            if low == high:
                return
            with db.atomic():  # a write to the events (quarantine) fails: they are read-only
                folded += rollups.fold_ids(db, low, high, retries=False)
                _put_part(db, low, folded)
            high = low
    finally:
        conn.close()


def _put_part(db: Db, low: int, folded: int) -> None:
    """What the child folded so far: the ids ``(low, top]``, ``folded`` events."""
    rollup_marks.put(db, parallel_build.PART_LOW_KEY, low)
    rollup_marks.put(db, parallel_build.PART_EVENTS_KEY, folded)


def _end_if_orphaned(parent: int, path: str) -> None:
    """The build that started this child was killed: nobody will read its file."""
    if os.getppid() != parent:
        parallel_build.remove(path)
        raise SystemExit(1)


def main(argv: list[str]) -> int:
    if argv == ["fold"]:
        fold_journal()
        return 0
    if len(argv) == 4 and argv[0] == "build-part":  # rollups.fold's other end: parallel_build
        build_part(argv[1], argv[2], int(argv[3]))
        return 0
    print("usage: python -m nexus_cli.telemetry.db.child fold", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
