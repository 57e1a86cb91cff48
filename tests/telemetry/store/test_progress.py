"""The one-time roll-up build shows a progress bar on a terminal's stderr, and nothing when piped."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

from nexus_cli import paths
from nexus_cli.telemetry.store import store

EVENTS = 120_000  # above rollups.SHOW_PROGRESS_FROM


def _fill() -> None:
    with store.opened(str(paths.telemetry_db_path())) as db, db.atomic():
        db.conn.executemany(
            "INSERT INTO events (timestamp, session_id, event_type, command, duration_ms, success) "
            "VALUES (?, 's', 'command', 'doctor', ?, 1)",
            ((f"2026-11-{1 + i % 28:02d} 10:00:00.000", i % 5000) for i in range(EVENTS)),
        )


def _rebuild(stderr: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nexus_cli", "--no-telemetry", "telemetry", "rebuild", "--json"],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "100"},
    )


def test_the_build_shows_a_bar_on_a_terminal_and_nothing_when_piped() -> None:
    _fill()
    piped = subprocess.run(
        [sys.executable, "-m", "nexus_cli", "--no-telemetry", "telemetry", "rebuild"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "building" not in piped.stderr and "rebuilt the roll-ups from 120000" in piped.stderr
    assert piped.stdout == ""
    main, tty = pty.openpty()
    try:
        result = _rebuild(tty)
        os.close(tty)
        shown = b""
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the terminal closed: everything was read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(main)
    assert b"building telemetry roll-ups" in shown
    assert '"events": 120000' in result.stdout  # stdout stays clean JSON
