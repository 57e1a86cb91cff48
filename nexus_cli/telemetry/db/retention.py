"""How long telemetry is kept, and pruning older rows (never on the recording hot path).

The maximum age is ``telemetry.retention_days`` in ``$NEXUS_HOME/config.json`` (default 90)::

    {"telemetry": {"retention_days": 180}}

``0`` keeps everything. Reading commands (stats, insights, dashboard, export) prune at most once
per UTC day; ``nexus telemetry purge --older-than DAYS`` prunes on demand.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

from nexus_cli import jsonio, paths
from nexus_cli.errors import ConfigError
from nexus_cli.telemetry.db import agent_usage, rollups
from nexus_cli.telemetry.db.handle import Db
from nexus_cli.telemetry.db.schema import DATA_TABLES, ms_of, stamp

DEFAULT_RETENTION_DAYS = 90
CONFIG_FILE = "config.json"


def config_path() -> str:
    return os.path.join(paths.nexus_home_str(), CONFIG_FILE)


def read_config() -> dict[str, Any]:
    """The user config file (``{}`` when absent). Raises :class:`ConfigError` when malformed."""
    path = config_path()
    try:
        with open(path, encoding="utf-8") as fh:
            data = jsonio.loads(fh.read())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{path}: {exc}" if "JSON" in str(exc) else f"{path}: not valid JSON ({exc})"
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    return data


def retention_days() -> int:
    section = read_config().get("telemetry", {})
    value = (
        section.get("retention_days", DEFAULT_RETENTION_DAYS) if isinstance(section, dict) else None
    )
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ConfigError(
            f"{config_path()}: telemetry.retention_days must be a whole number of days >= 0"
        )
    return value


def prune_older_than(db: Db, days: float, now: datetime | None = None) -> dict[str, int]:
    """Delete events, sessions, patterns and rows put aside older than ``days``; returns rows
    deleted per table."""
    try:
        cutoff = stamp((now or datetime.now(UTC)) - timedelta(days=days))
    except OverflowError:  # more days than the calendar holds: nothing is that old
        cutoff = stamp(datetime.min.replace(tzinfo=UTC))
    deleted: dict[str, int] = {}
    cutoff_ms = ms_of(cutoff)
    with db.atomic():
        sessions = [  # whose strings go with their last event (below)
            row[0]
            for row in db.execute(
                "SELECT DISTINCT session_id FROM event_rows WHERE at_ms < ?", [cutoff_ms]
            )
        ]
        # the events (a view over event_rows, whose time is whole milliseconds)
        deleted["event_rows"] = db.execute(
            "DELETE FROM event_rows WHERE at_ms < ?", [cutoff_ms]
        ).rowcount
        for table, column in (
            ("sessions", "ended_at"),
            ("patterns", "last_seen"),
            ("quarantine", "at"),  # rows put aside by a fold, by when (quarantine.py)
        ):
            cursor = db.execute(f"DELETE FROM {table} WHERE {column} < ?", [cutoff])
            deleted[table] = cursor.rowcount
        deleted["events"] = deleted.pop("event_rows")
        if deleted["events"]:
            _forget_strings(db, sessions)
            rollups.forget_before(db, cutoff)
        deleted["agent_usage"] = agent_usage.forget_before(db, cutoff_ms)
    return deleted


def _forget_strings(db: Db, sessions: list[int]) -> None:
    """Delete the stored session ids of ``sessions`` that no event refers to any more (other
    strings, such as command names and versions, are few and kept)."""
    if sessions:
        db.execute("CREATE TEMP TABLE IF NOT EXISTS pruned_sessions (id INTEGER PRIMARY KEY)")
        db.execute("DELETE FROM temp.pruned_sessions")
        db.conn.executemany("INSERT INTO temp.pruned_sessions VALUES (?)", ((s,) for s in sessions))
        db.execute(
            "DELETE FROM strings WHERE id IN temp.pruned_sessions "
            "AND id NOT IN (SELECT session_id FROM event_rows)"
        )


def apply_daily(db: Db, now: datetime | None = None) -> dict[str, int] | None:
    """Prune by the configured retention, at most once per UTC day. None when nothing ran."""
    days = retention_days()
    now = now or datetime.now(UTC)
    today = now.strftime("%Y-%m-%d")
    row = db.execute("SELECT value FROM maintenance WHERE key = 'retention_applied_on'").fetchone()
    if days == 0 or (row is not None and row[0] == today):
        return None
    deleted = prune_older_than(db, days, now)
    with db.atomic():
        db.execute(
            "INSERT INTO maintenance (key, value) VALUES ('retention_applied_on', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [today],
        )
    return deleted


def purge_all(db: Db) -> dict[str, int]:
    """Delete every row of every telemetry table, then VACUUM. Returns rows deleted per table."""
    existing = set(db.table_names())
    deleted: dict[str, int] = {}
    with db.atomic():
        for table in DATA_TABLES:
            if table in existing:
                deleted[table] = db.execute(f"DELETE FROM {table}").rowcount
        deleted["events"] = deleted.pop("event_rows", 0)  # `events` is a view over event_rows
    db.execute("VACUUM")
    return deleted
