"""What `nexus telemetry status` reports."""

from __future__ import annotations

import os
import sqlite3
from typing import Any

from nexus_cli import jsonio, paths, sqlite_open
from nexus_cli.errors import NexusError
from nexus_cli.telemetry.db import quarantine, retention, schema, store
from nexus_cli.telemetry.journal import file, privacy, settings
from nexus_cli.telemetry.ship import sync

NEVER_COLLECTED = (
    "option values",
    "positional arguments",
    "workspace names or task ids in clear (salted SHA-256 only)",
    "file paths",
    "environment variables",
    "command output",
)


def _retention() -> int | str:
    try:
        return retention.retention_days()
    except NexusError as exc:
        return f"invalid: {exc.message}"


def _sync() -> dict[str, Any] | None:
    try:
        config = sync.load()
    except NexusError:
        return None
    return {"url": config.shown_endpoint, "protocol": config.protocol, "auto": sync.auto_enabled()}


def regeneration_note() -> dict[str, Any] | None:
    """The last regeneration (``regenerated_at``, ``reason``), or None if the salt never was."""
    path = os.path.join(paths.nexus_home_str(), privacy.NOTE_FILE)
    try:
        with open(path, encoding="utf-8") as fh:
            data = jsonio.loads(fh.read())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"regenerated_at": None, "reason": "unknown (the note is unreadable)"}
    if not isinstance(data, dict):
        return {"regenerated_at": None, "reason": "unknown (the note is unreadable)"}
    return {"regenerated_at": data.get("regenerated_at"), "reason": str(data.get("reason"))}


def _fold() -> str | None:
    """Fold the recorder's journal through the store's open (so the counts include it)."""
    if not file.pending():
        return None
    try:
        with store.opened():
            return None
    except NexusError as exc:
        return f"cannot fold the journal: {exc.message}"


def read_status() -> dict[str, Any]:
    enabled, source = settings.decide()
    fold_error = _fold()
    db = paths.telemetry_db_path()
    info: dict[str, Any] = {
        "enabled": enabled,
        "source": source,
        "database": str(db),
        "size_bytes": db.stat().st_size if db.exists() else 0,
        "events": 0,
        "oldest": None,
        "newest": None,
        "sessions": 0,
        "patterns": 0,
        "quarantined": {"total": 0, "kept": 0, "reasons": []},
        "retention_days": _retention(),
        "sync": _sync(),
        "salt_regenerated": regeneration_note(),
        "fields_collected": list(schema.EVENT_COLUMNS),
        "never_collected": list(NEVER_COLLECTED),
    }
    if fold_error:
        info["error"] = fold_error
    if db.exists():
        try:
            conn = sqlite_open.open_read_only(db)
            try:
                row = _events_span(conn)
                info["sessions"] = conn.execute("SELECT count(*) FROM sessions").fetchone()[0]
                info["patterns"] = conn.execute("SELECT count(*) FROM patterns").fetchone()[0]
                info["quarantined"] = quarantine.summary(conn)
            finally:
                conn.close()
            info["events"], info["oldest"], info["newest"] = row
        except sqlite3.Error as exc:
            info["error"] = f"cannot read the database: {exc}"
    return info


def _events_span(conn: sqlite3.Connection) -> tuple[Any, ...]:
    """How many events, the oldest and the newest timestamp (text): from the time index."""
    try:
        n, low, high = conn.execute(
            "SELECT count(*), min(at_ms), max(at_ms) FROM event_rows"
        ).fetchone()
    except sqlite3.OperationalError:  # a layout before m012_event_times (not upgraded yet)
        return tuple(
            conn.execute("SELECT count(*), min(timestamp), max(timestamp) FROM events").fetchone()
        )
    return n, *(schema.utc(v) if isinstance(v, int) else v for v in (low, high))
