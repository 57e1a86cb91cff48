"""What `nexus telemetry status` reports."""

from __future__ import annotations

import sqlite3
from typing import Any

from nexus_cli import paths
from nexus_cli.telemetry import schema, settings

NEVER_COLLECTED = (
    "option values",
    "positional arguments",
    "workspace names or task ids in clear (salted SHA-256 only)",
    "file paths",
    "environment variables",
    "command output",
)


def read_status() -> dict[str, Any]:
    enabled, source = settings.decide()
    db = paths.telemetry_db_path()
    info: dict[str, Any] = {
        "enabled": enabled,
        "source": source,
        "database": str(db),
        "size_bytes": db.stat().st_size if db.exists() else 0,
        "events": 0,
        "oldest": None,
        "newest": None,
        "fields_collected": list(schema.EVENT_COLUMNS),
        "never_collected": list(NEVER_COLLECTED),
    }
    if db.exists():
        try:
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
            try:
                row = conn.execute(
                    "SELECT count(*), min(timestamp), max(timestamp) FROM events"
                ).fetchone()
            finally:
                conn.close()
            info["events"], info["oldest"], info["newest"] = row
        except sqlite3.Error as exc:
            info["error"] = f"cannot read the database: {exc}"
    return info
