"""Salted hashing of names. The salt is local (mode 0600) and never exported.

The salt is what makes a stored hash useless to anyone without this machine: a missing, empty or
short (under :data:`MIN_SALT_BYTES`) salt is never used. It is regenerated, under a lock so that
concurrent first recorders end with one salt, and when hashes made with an older salt may exist
a note (:data:`NOTE_FILE`) says so, for ``nexus telemetry status``: those hashes no longer match.

This module is on the recording path of every command that hashes a name: it never opens
``telemetry.db`` (the note is read by :func:`nexus_cli.telemetry.query.status.regeneration_note`).
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
import stat
import time

from nexus_cli import fs, jsonio, paths
from nexus_cli.errors import StateError

MIN_SALT_BYTES = 16
NOTE_FILE = "telemetry.salt.regenerated"
LOCK_FILE = "telemetry.salt.lock"


def _read(path: str) -> bytes | None:
    """The salt file's content (stripped), None when missing; never blocks on a FIFO."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise StateError(
                f"{path} is a symbolic link; the telemetry salt must be a regular file",
                hint=f"remove it (rm {path}); a new salt is made on the next command",
            ) from None
        raise StateError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise StateError(
                f"{path} is not a regular file",
                hint=f"remove it (rm -r {path}); a new salt is made on the next command",
            )
        chunks = []
        while chunk := os.read(fd, 4096):
            chunks.append(chunk)
        return b"".join(chunks).strip()
    finally:
        os.close(fd)


def usable(value: bytes | None) -> bool:
    """Whether ``value`` may serve as the salt: present and at least 16 bytes."""
    return value is not None and len(value) >= MIN_SALT_BYTES


def salt() -> bytes:
    """The local salt, created on first use in ``$NEXUS_HOME`` (regenerated if unusable)."""
    home = paths.nexus_home_str()
    path = os.path.join(home, paths.SALT_FILE)
    value = _read(path)
    if value is None or not usable(value):
        return _regenerate(home, path)
    return value


def _regenerate(home: str, path: str) -> bytes:
    """Make a new salt under the salt lock; the first process wins, the others read its salt."""
    paths.ensure_private_dir(home)
    with fs.locked(os.path.join(home, LOCK_FILE)):
        old = _read(path)  # another process may have made one while this one waited
        if old is not None and usable(old):
            return old
        value = secrets.token_hex(32).encode()
        fs.atomic_write(path, value + b"\n", mode=0o600)
        reason = _reason(old, home)
        if reason is not None:
            note = {"regenerated_at": _utc_now(), "reason": reason}
            fs.atomic_write(
                os.path.join(home, NOTE_FILE),
                jsonio.dumps(note, ascii_only=True) + "\n",
                mode=0o600,
            )
    return value


def _reason(old: bytes | None, home: str) -> str | None:
    """Why the salt was replaced, when hashes made before may exist; None for a first salt."""
    if old is not None:
        return "it was empty" if not old else f"it was too short ({len(old)} bytes)"
    return "it was missing" if _hashes_exist(os.path.join(home, paths.TELEMETRY_DB)) else None


def _hashes_exist(db: str) -> bool:
    """Whether hashed names made with a salt now gone may exist: in the journal, or a database."""
    if _journal_has_hashes(os.path.join(os.path.dirname(db), paths.TELEMETRY_JOURNAL)):
        return True
    # Any database may hold one: the note says they *may* no longer match (reading it would put
    # SQLite on the recording path for a question a person only needs a hint about).
    return os.path.exists(db)


def _journal_has_hashes(folder: str) -> bool:
    """Whether an entry not yet folded into the database carries a hashed name."""
    try:
        names = os.listdir(folder)
    except OSError:
        return False
    for name in names:
        if name != "events" and not name.startswith("fold-"):
            continue
        try:
            fd = os.open(os.path.join(folder, name), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            tail = b""
            while chunk := os.read(fd, 1 << 20):
                if b'_hash":"' in tail + chunk:
                    return True
                tail = chunk[-8:]
        finally:
            os.close(fd)
    return False


def _utc_now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())


def hash_name(name: str, *, kind: str) -> str:
    """Salted SHA-256 (hex) of a workspace name or task id. ``kind`` separates namespaces."""
    digest = hashlib.sha256()
    digest.update(salt())
    digest.update(f"\0{kind}\0".encode())
    digest.update(name.encode("utf-8", "surrogatepass"))
    return str(digest.hexdigest())


SYNC_MARK_PREFIX = "h:"  # a sync mark's key (``sync_marks.destination``) is a hash, not a URL


def sync_mark_key(destination: str) -> str:
    """The key a sync destination's mark is stored under (``PROTOCOL URL``, whose URL may carry
    credentials): its salted hash, never the URL itself."""
    return SYNC_MARK_PREFIX + hash_name(destination, kind="sync destination")
