"""Run a telemetry module in a child Python and wait for it: the recording path's way to do the
rare work that needs SQLite without loading it.

The recorder folds a journal that grew large, and a salt made anew asks whether
``telemetry.db`` holds names hashed with the old one; both are answered by
:mod:`nexus_cli.telemetry.db.child`, in its own process, so that recording itself stays
``sqlite3``-free (tests/test_hot_path_imports.py). The child is started with ``os.posix_spawn``
(``subprocess`` is a few milliseconds to import), with ``-P`` so that the working folder cannot
put its own ``nexus_cli`` first on the path, and with no terminal input or output.
"""

from __future__ import annotations

import os
import sys

DB_CHILD = "nexus_cli.telemetry.db.child"
_QUIET = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_RDWR, 0) for fd in (0, 1, 2)]


def run(*args: str) -> int | None:
    """``python -P -m nexus_cli.telemetry.db.child ARGS``, waited for: its exit status, or None
    when it could not be started."""
    try:
        pid = os.posix_spawn(
            sys.executable,
            [sys.executable, "-P", "-m", DB_CHILD, *args],
            os.environ,
            file_actions=_QUIET,
        )
        _, status = os.waitpid(pid, 0)
    except OSError:
        return None
    return os.waitstatus_to_exitcode(status)
