"""What the recording path runs in a child Python (:mod:`nexus_cli.telemetry.journal.child`).

``python -m nexus_cli.telemetry.db.child fold`` folds the journal into ``telemetry.db`` (the
recorder's own fold, once the journal grew past
:data:`nexus_cli.telemetry.journal.recorder.FOLD_BYTES`). ``... child build-part SOURCE PATH
TOP`` is the child of a parallel roll-up build (:mod:`parallel_build`). Recording never imports SQLite; the fold
needs it.
"""

from __future__ import annotations

import sys

from nexus_cli.telemetry.db import fold, rollups, store


def fold_journal() -> None:
    """Fold the journal into the telemetry database (migrated first). A database that needs
    the long one-time upgrade is left to the next read: recording never waits for it (the
    journal keeps the events meanwhile)."""
    try:
        with store.migrated(upgrade=False) as db:
            fold.fold_journal(db)
    except store.UpgradePending:
        return


def main(argv: list[str]) -> int:
    if argv == ["fold"]:
        fold_journal()
        return 0
    if len(argv) == 4 and argv[0] == "build-part":  # rollups.fold's other end: parallel_build
        rollups.build_part(argv[1], argv[2], int(argv[3]))
        return 0
    print("usage: python -m nexus_cli.telemetry.db.child fold", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
