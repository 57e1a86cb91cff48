"""Where Nexus keeps state.

User-level state lives in ``$NEXUS_HOME``, else the platform's user data folder (the same folder
``platformdirs.user_data_dir("nexus")`` returns; computed here without importing platformdirs,
which costs ~20 ms, because this module is on the hot path of every invocation). User-level
configuration (custom templates and personas) lives in the platform's user config folder.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP = "nexus"
TELEMETRY_DB = "telemetry.db"
TELEMETRY_OFF_SENTINEL = "telemetry.off"
SALT_FILE = "telemetry.salt"


def _home() -> Path:
    return Path(os.path.expanduser("~"))


def user_data_dir() -> Path:
    """The platform's user data folder for Nexus (what platformdirs returns)."""
    if sys.platform == "darwin":
        return _home() / "Library" / "Application Support" / APP
    if sys.platform == "win32":  # pragma: no cover - not a CI platform
        base = os.environ.get("LOCALAPPDATA") or str(_home() / "AppData" / "Local")
        return Path(base) / APP / APP
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    return (Path(xdg) if xdg else _home() / ".local" / "share") / APP


def user_config_dir() -> Path:
    """The platform's user config folder for Nexus (custom templates, personas, completion)."""
    explicit = os.environ.get("NEXUS_CONFIG_HOME")
    if explicit:
        return Path(explicit)
    if sys.platform == "darwin":
        return _home() / "Library" / "Application Support" / APP
    if sys.platform == "win32":  # pragma: no cover
        base = os.environ.get("APPDATA") or str(_home() / "AppData" / "Roaming")
        return Path(base) / APP / APP
    xdg = os.environ.get("XDG_CONFIG_HOME", "").strip()
    return (Path(xdg) if xdg else _home() / ".config") / APP


def nexus_home() -> Path:
    """User-level state folder: ``$NEXUS_HOME`` or the platform's user data folder."""
    explicit = os.environ.get("NEXUS_HOME")
    return Path(explicit) if explicit else user_data_dir()


def telemetry_db_path() -> Path:
    return nexus_home() / TELEMETRY_DB


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (mode 0700) if missing and return it."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def create_private_file(path: Path) -> bool:
    """Create an empty file with mode 0600 unless it exists. Returns True when it was created."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return False
    os.close(fd)
    return True
