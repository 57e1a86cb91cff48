"""Salted hashing of names. The salt is local (mode 0600) and never exported."""

from __future__ import annotations

import hashlib
import os
import secrets

from nexus_cli import paths


def salt() -> bytes:
    """The local salt, created on first use in ``$NEXUS_HOME``."""
    path = paths.nexus_home() / paths.SALT_FILE
    try:
        value = path.read_bytes().strip()
        if value:
            return value
    except FileNotFoundError:
        pass
    paths.ensure_private_dir(path.parent)
    value = secrets.token_hex(32).encode()
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(value + b"\n")
    try:
        os.link(tmp, path)  # first writer wins; never replace an existing salt
    except FileExistsError:
        value = path.read_bytes().strip()
    finally:
        tmp.unlink(missing_ok=True)
    return value


def hash_name(name: str, *, kind: str) -> str:
    """Salted SHA-256 (hex) of a workspace name or task id. ``kind`` separates namespaces."""
    digest = hashlib.sha256()
    digest.update(salt())
    digest.update(f"\0{kind}\0".encode())
    digest.update(name.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()
