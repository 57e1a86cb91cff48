"""Where Nexus keeps state, as :class:`~pathlib.Path` objects, and the config and cache folders.

User-level state lives in ``$NEXUS_HOME``, else the platform's user data folder
(:mod:`nexus_cli.home`, which the recording path imports alone, owns that rule and the names of
the files there; they are re-exported here). User-level configuration (custom templates and
personas) lives in ``$NEXUS_CONFIG_HOME``, else the platform's user config folder, and what can be
rebuilt in ``$NEXUS_HOME/cache``, else the platform's user cache folder (the key that signs its
entries stays in the state folder: :func:`cache_key_str`). :mod:`platformdirs` decides the
platform folders (imported when one is needed: see :mod:`nexus_cli.home`).

The ``*_str`` functions return plain strings for callers that join and open paths with
:mod:`os`; the others return :class:`~pathlib.Path`.
"""

from __future__ import annotations

import os
from pathlib import Path

from nexus_cli.home import (
    APP,
    CACHE_KEY_FILE,
    SALT_FILE,
    TELEMETRY_DB,
    TELEMETRY_JOURNAL,
    TELEMETRY_OFF_SENTINEL,
    ensure_private_dir,
    folder_error,
    nexus_home_str,
    user_data_dir_str,
)

__all__ = [
    "APP",
    "CACHE_KEY_FILE",
    "SALT_FILE",
    "TELEMETRY_DB",
    "TELEMETRY_JOURNAL",
    "TELEMETRY_OFF_SENTINEL",
    "cache_dir_str",
    "cache_key_str",
    "create_private_file",
    "ensure_private_dir",
    "folder_error",
    "nexus_home",
    "nexus_home_str",
    "opencode_config_dir",
    "telemetry_db_path",
    "telemetry_db_str",
    "user_config_dir",
    "user_data_dir",
    "user_data_dir_str",
]


def cache_dir_str() -> str:
    """Where Nexus keeps what it can rebuild: ``$NEXUS_HOME/cache`` when NEXUS_HOME is set, else
    the platform's user cache folder (``$XDG_CACHE_HOME/nexus``, ``~/.cache/nexus``, macOS
    ``~/Library/Caches/nexus``)."""
    explicit = os.environ.get("NEXUS_HOME")
    if explicit:
        return os.path.join(explicit, "cache")
    import platformdirs

    return platformdirs.user_cache_dir(APP)


def cache_key_str() -> str:
    """The secret that signs the cache's entries: ``cache.key`` in NEXUS_HOME (else the user data
    folder), never inside the cache folder, so whoever can write the cache cannot sign for it."""
    return os.path.join(nexus_home_str(), CACHE_KEY_FILE)


def user_data_dir() -> Path:
    """The platform's user data folder for Nexus."""
    return Path(user_data_dir_str())


def user_config_dir() -> Path:
    """``$NEXUS_CONFIG_HOME``, else the platform's user config folder for Nexus (custom
    templates, personas, completion)."""
    explicit = os.environ.get("NEXUS_CONFIG_HOME")
    if explicit:
        return Path(explicit)
    import platformdirs

    return Path(platformdirs.user_config_dir(APP))


def opencode_config_dir() -> Path:
    """OpenCode's user folder: ``$XDG_CONFIG_HOME/opencode`` (an absolute XDG_CONFIG_HOME), else
    ``~/.config/opencode`` - on every platform, macOS included
    (https://opencode.ai/docs/config, read 2026-12-06)."""
    xdg = os.environ.get("XDG_CONFIG_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path(os.path.expanduser("~")) / ".config"
    return base / "opencode"


def nexus_home() -> Path:
    """User-level state folder: ``$NEXUS_HOME`` or the platform's user data folder."""
    return Path(nexus_home_str())


def telemetry_db_path() -> Path:
    return nexus_home() / TELEMETRY_DB


def telemetry_db_str() -> str:
    return os.path.join(nexus_home_str(), TELEMETRY_DB)


def create_private_file(path: Path | str) -> bool:
    """Create an empty file with mode 0600 unless it exists. Returns True when it was created."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return False
    os.close(fd)
    return True
