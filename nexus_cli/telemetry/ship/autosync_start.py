"""Start ``nexus sync now --background`` detached, its output appended to ``sync.log``.

Loaded by :mod:`nexus_cli.telemetry.ship.autosync` only when ``sync auto`` is on and a sync is
due, so that the process module stays off the path of every other command.
"""

from __future__ import annotations

import os
import sys

from nexus_cli import proc


def start(home: str, env: dict[str, str]) -> None:
    """Start the sync in a new session, in ``home``, with ``sync.log`` as its output and ``env``
    as its environment (which marks it as the background sync: it starts no other)."""
    # Never through a link put in $NEXUS_HOME: the one name is opened O_NOFOLLOW.
    log = os.open(
        os.path.join(home, "sync.log"),
        os.O_CREAT | os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW,
        0o600,
    )
    try:
        proc.spawn_detached(
            [sys.executable, "-m", "nexus_cli", "--no-telemetry", "sync", "now", "--background"],
            cwd=home,
            env=env,
            log_fd=log,
        )
    finally:
        os.close(log)
