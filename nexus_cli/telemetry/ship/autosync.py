"""After a command: start a detached ``nexus sync now`` when ``nexus sync auto on`` is set.

Called from the CLI's boundary after the event is recorded, so it must cost next to nothing
when auto sync is off (one ``stat``) and never delay the command when it is on: the sync runs in
a new session with its output in ``$NEXUS_HOME/sync.log``, and at most once per interval (the
number of seconds written in ``sync.auto``, default 60). Deciding needs only :mod:`os`; the
module that starts the process (:data:`START`, over :mod:`nexus_cli.proc`) is loaded by name
only when a sync is due, as the CLI loads a command's module only when it runs.
"""

from __future__ import annotations

import importlib
import os
import time

from nexus_cli import home

SENTINEL = "sync.auto"
STAMP = "sync.spawned"
CHILD_ENV = "NEXUS_SYNC_BACKGROUND"
START = "nexus_cli.telemetry.ship.autosync_start"  # start(home, env): the detached `sync now`


def after_command() -> None:
    """Never raises."""
    try:
        if os.environ.get(CHILD_ENV):
            return
        folder = home.nexus_home_str()
        sentinel = os.path.join(folder, SENTINEL)
        if not os.path.exists(sentinel) or not _due(folder, sentinel):
            return
        importlib.import_module(START).start(folder, {**os.environ, CHILD_ENV: "1"})
    except Exception:
        return


def _due(folder: str, sentinel: str) -> bool:
    """Whether the interval since the last start has passed; if so, stamp this start."""
    with open(sentinel) as fh:
        interval = float(fh.read().strip() or 60)
    stamp = os.path.join(folder, STAMP)
    try:
        if time.time() - os.stat(stamp).st_mtime < interval:
            return False
    except FileNotFoundError:
        pass
    # Never through a link put in $NEXUS_HOME (its own folder: the one name is opened O_NOFOLLOW).
    os.close(os.open(stamp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600))
    return True
