"""What tests ask the kernel about processes: read from /proc as bytes (a process name, such as
another test's odd-named sleeper, need not be UTF-8), polled with a generous deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path


def _stat(pid: int | str) -> list[bytes] | None:
    """The fields of /proc/PID/stat after the process name (``None`` once it is gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None


def alive(pid: int) -> bool:
    """Running (a zombie waiting for init to reap it counts as gone)."""
    fields = _stat(pid)
    return fields is not None and fields[0] not in (b"Z", b"X")


def running_members(pgid: int) -> list[int]:
    """Processes of group ``pgid`` that still run (zombies do not)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat(entry.name)
        if fields is not None and fields[0] not in (b"Z", b"X") and int(fields[2]) == pgid:
            found.append(int(entry.name))
    return found


def until(check: Callable[[], bool], timeout: float = 30) -> bool:
    """Poll ``check`` until it holds or ``timeout`` seconds pass; its last answer."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.02)
    return check()
