"""After a command: start a detached ``nexus sync now`` when ``nexus sync auto on`` is set.

Called from the CLI's boundary after the event is recorded, so it must cost next to nothing
when auto sync is off (one ``stat``) and never delay the command when it is on: the sync runs in
a new session with its output in ``$NEXUS_HOME/sync.log``, and at most once per interval (the
number of seconds written in ``sync.auto``, default 60).
"""

from __future__ import annotations

import os
import sys
import time

from nexus_cli import paths, proc, safe_path

SENTINEL = "sync.auto"
STAMP = "sync.spawned"
CHILD_ENV = "NEXUS_SYNC_BACKGROUND"


def after_command() -> None:
    """Never raises."""
    try:
        if os.environ.get(CHILD_ENV):
            return
        home = paths.nexus_home_str()
        sentinel = os.path.join(home, SENTINEL)
        if not os.path.exists(sentinel):
            return
        _spawn_if_due(home, sentinel)
    except Exception:
        return


def _spawn_if_due(home: str, sentinel: str) -> None:
    with open(sentinel) as fh:
        interval = float(fh.read().strip() or 60)
    stamp = os.path.join(home, STAMP)
    try:
        if time.time() - os.stat(stamp).st_mtime < interval:
            return
    except FileNotFoundError:
        pass
    # never through a link put in $NEXUS_HOME (safe_path: the last name opened with O_NOFOLLOW)
    os.close(safe_path.open_file(home, STAMP, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    log = safe_path.open_file(home, "sync.log", os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
    try:
        proc.spawn_detached(
            [sys.executable, "-m", "nexus_cli", "--no-telemetry", "sync", "now", "--background"],
            cwd=home,
            env={**os.environ, CHILD_ENV: "1"},
            log_fd=log,
        )
    finally:
        os.close(log)
