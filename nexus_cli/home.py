"""Where Nexus keeps user-level state: ``$NEXUS_HOME``, else the platform's user data folder
(``platformdirs.user_data_dir("nexus")``), the names of the files in it, and making its folders.

Every command's recording (:mod:`nexus_cli.telemetry.journal`) reads this, so it is kept to
plain strings and :mod:`os`; :mod:`nexus_cli.paths` builds the :class:`~pathlib.Path` helpers and
the config and cache folders on top of it. :mod:`platformdirs` decides the platform folder, so
Nexus agrees with other tools on every platform and honours the same ``XDG_*`` variables. Its
import is deferred (``banned-module-level-imports`` in pyproject.toml): it loads ``tempfile``,
``shutil`` and ``pathlib``, which a command run with ``NEXUS_HOME`` set never needs.
"""

from __future__ import annotations

import errno
import os

from nexus_cli.errors import NexusError, StateError, UsageError

APP = "nexus"
TELEMETRY_DB = "telemetry.db"
TELEMETRY_JOURNAL = "telemetry-journal"  # folder of entries not yet folded into the db
TELEMETRY_OFF_SENTINEL = "telemetry.off"
SALT_FILE = "telemetry.salt"
CACHE_KEY_FILE = "cache.key"  # signs the cache's entries; kept outside the cache folder


def user_data_dir_str() -> str:
    """The platform's user data folder for Nexus, as a string."""
    import platformdirs

    return platformdirs.user_data_dir(APP)


def nexus_home_str() -> str:
    """User-level state folder as a string: ``$NEXUS_HOME`` or the platform's user data folder."""
    return os.environ.get("NEXUS_HOME") or user_data_dir_str()


def ensure_private_dir(path: os.PathLike[str] | str) -> None:
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
