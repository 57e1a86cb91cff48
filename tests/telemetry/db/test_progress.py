"""The one-time roll-up build shows a progress bar on a terminal's stderr, and nothing when piped."""

from __future__ import annotations

import json
import os
import pty
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

from nexus_cli import migrations, paths
from nexus_cli.telemetry.db import store, versions
from nexus_cli.telemetry.db.schema import stamp

EVENTS = 120_000  # above rollups.SHOW_PROGRESS_FROM


def _fill() -> None:
    """EVENTS events over the last 6 days (inside `stats`' default window of 7)."""
    days = [stamp(datetime.now(UTC) - timedelta(days=d, hours=1)) for d in range(6)]
    with store.opened(str(paths.telemetry_db_path())) as db, db.atomic():
        db.conn.executemany(
            "INSERT INTO events (timestamp, session_id, event_type, command, duration_ms, success) "
            "VALUES (?, 's', 'command', 'doctor', ?, 1)",
            ((days[i % 6], i % 5000) for i in range(EVENTS)),
        )


def _on_terminal(*argv: str) -> tuple[str, bytes]:
    """Run nexus with stderr on a pseudo-terminal: its stdout and what the terminal showed
    (read while it runs, so a full terminal buffer never blocks it)."""
    main, tty = pty.openpty()
    shown: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the terminal closed: everything was read
                return
            if not chunk:
                return
            shown.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "nexus_cli", "--no-telemetry", *argv],
            stdout=subprocess.PIPE,
            stderr=tty,
            text=True,
            check=True,
            timeout=300,
            env={**os.environ, "COLUMNS": "100"},
        )
    finally:
        os.close(tty)
        reader.join(timeout=10)
        os.close(main)
    return result.stdout, b"".join(shown)


def test_the_build_shows_a_bar_on_a_terminal_and_nothing_when_piped() -> None:
    _fill()
    piped = subprocess.run(
        [sys.executable, "-m", "nexus_cli", "--no-telemetry", "telemetry", "rebuild"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert (
        "building" not in piped.stderr
        and "rebuilt the roll-ups from 120000 events in" in piped.stderr
    )
    assert piped.stdout == ""
    stdout, shown = _on_terminal("telemetry", "rebuild")
    assert b"building telemetry roll-ups" in shown and stdout == ""
    stdout, shown = _on_terminal("telemetry", "rebuild", "--json")  # --json: no bar at all
    assert b"building" not in shown and b"rebuilt" not in shown
    assert json.loads(stdout)["events"] == 120000


def test_a_migration_shows_a_bar_on_a_terminal() -> None:
    """A database as the previous version left it (migrations 1-9) with EVENTS events: its
    first read migrates it (m011_compact_events) behind a bar."""
    path = paths.telemetry_db_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    migrations.migrate(conn, versions.MIGRATIONS[:10], what="t")
    stamp_ = stamp(datetime.now(UTC) - timedelta(hours=1))
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO events (timestamp, session_id, event_type, command, duration_ms, success) "
        "VALUES (?, 's', 'command', 'doctor', ?, 1)",
        ((stamp_, i % 5000) for i in range(EVENTS)),
    )
    conn.execute("COMMIT")
    conn.close()
    stdout, shown = _on_terminal("stats", "--json")
    assert b"upgrading the telemetry database" in shown
    assert json.loads(stdout)["invocations"] == EVENTS  # stdout stays clean JSON
    with store.opened(str(path)) as db:
        kind = db.execute("SELECT type FROM sqlite_master WHERE name = 'events'").fetchone()
        assert kind == ("view",)
