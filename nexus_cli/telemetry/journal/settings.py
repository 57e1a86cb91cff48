"""Whether telemetry is recorded, and which source decided.

Checked on every invocation, so it costs one ``stat`` at most: the ``--no-telemetry`` flag, then
``NEXUS_TELEMETRY_DISABLED``, then ``DO_NOT_TRACK``, then the sentinel file that
``nexus telemetry off`` writes into ``$NEXUS_HOME`` (the user's saved setting).
"""

from __future__ import annotations

import contextlib
import os

from nexus_cli import home

_TRUTHY_OFF = ("", "0", "false", "no", "off")


def _env_set(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in _TRUTHY_OFF


# What decided, as `telemetry status --json` reports it, and how the text output says it.
SOURCES = {
    "flag": "--no-telemetry on this command",
    "NEXUS_TELEMETRY_DISABLED": "NEXUS_TELEMETRY_DISABLED is set",
    "DO_NOT_TRACK": "DO_NOT_TRACK is set",
    "config": "turned off by `nexus telemetry off`",
    "default": "the default",
}


def decide(no_telemetry_flag: bool = False) -> tuple[bool, str]:
    """Return ``(enabled, source)``; ``source`` is a key of :data:`SOURCES`."""
    if no_telemetry_flag:
        return False, "flag"
    if _env_set("NEXUS_TELEMETRY_DISABLED"):
        return False, "NEXUS_TELEMETRY_DISABLED"
    if _env_set("DO_NOT_TRACK"):
        return False, "DO_NOT_TRACK"
    if os.path.exists(os.path.join(home.nexus_home_str(), home.TELEMETRY_OFF_SENTINEL)):
        return False, "config"
    return True, "default"


def set_enabled(enabled: bool) -> None:
    """Persist the user's choice (``nexus telemetry on|off``)."""
    folder = home.nexus_home_str()
    sentinel = os.path.join(folder, home.TELEMETRY_OFF_SENTINEL)
    try:
        if enabled:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(sentinel)  # unlink removes a link itself, never what it points at
        else:  # never written through a link in $NEXUS_HOME (its own folder: one name to check)
            home.ensure_private_dir(folder)
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(sentinel, flags, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write("telemetry disabled by `nexus telemetry off`\n")
    except OSError as exc:
        error = home.folder_error(sentinel, exc)
        error.message = f"cannot {'remove' if enabled else 'write'} {sentinel}: {exc.strerror}"
        raise error from None
