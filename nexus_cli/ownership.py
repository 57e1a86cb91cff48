"""Making owners for this process's operations, and deciding whether a recorded owner still
holds its claim (the record itself is :mod:`nexus_cli.owner`'s).

:func:`alive` decides whether a recorded owner still holds its claim: on this host, its process
runs with the same start, and — when it is this very process — the operation is still in
progress here (:func:`operation` keeps the set of live tokens). An owner on another host cannot
be checked and counts as gone, as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import threading
from collections.abc import Iterator

from nexus_cli.owner import Owner

TOKEN_BYTES = 8

_live: set[str] = set()
_live_lock = threading.Lock()


def host_tag() -> str:
    """This machine, as recorded in shared files: a hash, not the host name itself.

    ``os.uname().nodename`` is the name ``socket.gethostname()`` returns on every POSIX system
    (both read uname(2)), without loading the socket module on every task command and hook."""
    return hashlib.sha256(os.uname().nodename.encode()).hexdigest()[:12]


def process_start(pid: int) -> str | None:
    """``BOOT_ID:TICKS`` for process ``pid``; ``""`` when unknowable here; None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return None if os.path.isdir("/proc/self") else _exists(pid)
    except (OSError, IndexError):
        return ""
    if fields[:1] in (["Z"], ["X"]):  # a zombie (killed, not reaped yet) or dead: it owns nothing
        return None
    ticks = fields[19] if len(fields) > 19 else ""  # field 22 of stat; 20 after "pid (comm)"
    return f"{_boot_id()}:{ticks}"


def _exists(pid: int) -> str | None:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return ""
    return ""


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as fh:
            return fh.read().strip()[:36]
    except OSError:
        return ""


def new() -> Owner:
    """A fresh owner for one operation of this process (not yet live: see :func:`operation`)."""
    pid = os.getpid()
    return Owner(host_tag(), pid, process_start(pid) or "", secrets.token_hex(TOKEN_BYTES))


@contextlib.contextmanager
def operation() -> Iterator[Owner]:
    """A new owner that :func:`alive` sees as live in this process until the block ends."""
    me = new()
    with _live_lock:
        _live.add(me.token)
    try:
        yield me
    finally:
        with _live_lock:
            _live.discard(me.token)


def alive(who: Owner) -> bool:
    """Whether ``who`` still holds its claim (see the module's docstring)."""
    if who.host != host_tag():
        return False
    if who.pid == os.getpid():
        with _live_lock:
            return who.token in _live and who.start == (process_start(who.pid) or "")
    start = process_start(who.pid)
    if start is None:
        return False
    if not start or not who.start:  # this platform cannot tell: the pid runs
        return True
    return start == who.start
