"""Where Nexus keeps state.

User-level state lives in ``$NEXUS_HOME``, else the platform's user data folder
(``platformdirs.user_data_dir("nexus")``). User-level configuration (custom templates and
personas) lives in ``$NEXUS_CONFIG_HOME``, else the platform's user config folder, and what can be
rebuilt in ``$NEXUS_HOME/cache``, else the platform's user cache folder (the key that signs its
entries stays in the state folder: :func:`cache_key_str`). :mod:`platformdirs`
decides the platform folders, so Nexus agrees with other tools on every platform and honours the
same ``XDG_*`` variables.

The ``*_str`` functions return plain strings for callers that join and open paths with
:mod:`os`; the others return :class:`~pathlib.Path`.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import platformdirs

from nexus_cli.errors import NexusError, StateError, UsageError

APP = "nexus"
TELEMETRY_DB = "telemetry.db"
TELEMETRY_JOURNAL = "telemetry-journal"  # folder of entries not yet folded into the db
TELEMETRY_OFF_SENTINEL = "telemetry.off"
SALT_FILE = "telemetry.salt"
CACHE_KEY_FILE = "cache.key"  # signs the cache's entries; kept outside the cache folder


def user_data_dir_str() -> str:
    """The platform's user data folder for Nexus, as a string."""
    return platformdirs.user_data_dir(APP)


def nexus_home_str() -> str:
    """User-level state folder as a string: ``$NEXUS_HOME`` or the platform's user data folder."""
    return os.environ.get("NEXUS_HOME") or user_data_dir_str()


def cache_dir_str() -> str:
    """Where Nexus keeps what it can rebuild: ``$NEXUS_HOME/cache`` when NEXUS_HOME is set, else
    the platform's user cache folder (``$XDG_CACHE_HOME/nexus``, ``~/.cache/nexus``, macOS
    ``~/Library/Caches/nexus``)."""
    explicit = os.environ.get("NEXUS_HOME")
    if explicit:
        return os.path.join(explicit, "cache")
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
    return Path(platformdirs.user_config_dir(APP))


def nexus_home() -> Path:
    """User-level state folder: ``$NEXUS_HOME`` or the platform's user data folder."""
    return Path(nexus_home_str())


def telemetry_db_path() -> Path:
    return nexus_home() / TELEMETRY_DB


def telemetry_db_str() -> str:
    return os.path.join(nexus_home_str(), TELEMETRY_DB)


def ensure_private_dir(path: Path | str) -> None:
    """Create ``path`` (mode 0700, parents too) if missing; a clear error if it cannot be.

    ``NEXUS_HOME`` pointing at a file is a usage error (exit 2); a folder that cannot be created
    (permissions, a read-only or full disk) is a :class:`~nexus_cli.errors.StateError`.
    """
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
    except OSError as exc:
        raise folder_error(os.fspath(path), exc) from None


def _names_home(path: str) -> str | None:
    """``"NEXUS_HOME"`` when ``path`` is (or is inside) the folder that variable names."""
    explicit = os.environ.get("NEXUS_HOME")
    if not explicit:
        return None
    home = os.path.abspath(explicit)
    target = os.path.abspath(path)
    return (
        "NEXUS_HOME" if target == home or target.startswith(home.rstrip(os.sep) + os.sep) else None
    )


def folder_error(path: str, exc: OSError) -> NexusError:
    """The typed error for a state folder (or a file in one) that cannot be created or used."""
    variable = _names_home(path)
    if isinstance(exc, FileExistsError | NotADirectoryError) or exc.errno == errno.ENOTDIR:
        if variable:
            return UsageError(
                f"NEXUS_HOME ({os.environ['NEXUS_HOME']}) is not a folder: "
                f"{path} cannot be created",
                hint="point NEXUS_HOME at a folder (or unset it to use the default)",
            )
        return StateError(
            f"{path} cannot be created: a file is in the way",
            hint="move that file aside and run the command again",
        )
    if exc.errno == errno.ENOSPC:
        hint = "the disk is full: free some space and run the command again"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = "check the folder's permissions" + (
            ", or point NEXUS_HOME at a writable folder" if variable else ""
        )
    else:
        hint = None
    return StateError(f"cannot create {path}: {exc.strerror or exc}", hint=hint)


def create_private_file(path: Path | str) -> bool:
    """Create an empty file with mode 0600 unless it exists. Returns True when it was created."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return False
    os.close(fd)
    return True
