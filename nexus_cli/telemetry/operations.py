"""The telemetry operations behind ``nexus telemetry purge|rebuild`` and ``nexus sync now|status``.

Each opens the telemetry database itself (folding the journal first, as every read does) and
returns plain data for a front end to render, so the commands are parse -> call -> render and no
command module composes the database, the queries and the shipping code.
"""

from __future__ import annotations

from typing import Any

from nexus_cli.telemetry.db import fold, retention, rollups, store
from nexus_cli.telemetry.ship import sync


def database_path() -> str:
    return store.database_path()


def purge(older_than_days: int | None = None) -> dict[str, int]:
    """Delete every row (or those older than ``older_than_days``); rows deleted per table."""
    with store.opened() as db:
        if older_than_days:
            return retention.prune_older_than(db, older_than_days)
        return retention.purge_all(db)


def rebuild(*, show_progress: bool = True) -> dict[str, Any]:
    """Rebuild the per-day roll-ups from the events: ``{"events": N, "seconds": S, ...}``.

    The journal is folded into ``events`` first; the roll-ups are not brought up to date before
    being dropped (the rebuild folds every event once). ``show_progress``: a bar on a terminal.
    """
    with store.migrated() as db:
        fold.fold_journal(db)
        return rollups.rebuild(db, show_progress=show_progress)


def sync_now(
    *, batch_size: int, timeout: float, retries: int, wait_for_lock: bool, deadline: float
) -> dict[str, Any]:
    """Send every event not sent yet to the configured destination (see :func:`sync.sync_now`)."""
    with store.opened() as db:
        return sync.sync_now(
            db,
            batch_size=batch_size,
            timeout=timeout,
            retries=retries,
            wait_for_lock=wait_for_lock,
            deadline=deadline,
        )


def sync_status() -> dict[str, Any]:
    """The destination as shown (credentials hidden), header names, auto sync and what is
    pending; raises :class:`~nexus_cli.errors.NotFoundError` when sync is not set up."""
    config = sync.load()
    with store.opened() as db:
        mark = sync.mark(db, config)
    return {
        "url": config.shown_endpoint,
        "protocol": config.protocol,
        "encoding": config.wire_encoding,
        "headers": sorted(config.headers),
        "auto": sync.auto_enabled(),
        **mark,
    }
