"""Parsed YAML kept as JSON, so that a command reading unchanged files skips importing PyYAML.

Importing PyYAML costs ~20 ms, more than the rest of `workspace create -t bare` spends in Python;
the files it reads (``config.yaml``, templates, personas, workflows, trust rules) rarely change
between runs.

The cache is never a source of truth: what it returns decides what runs (a workflow's gates, a
template's service commands, the user's trust rules), so an entry is used only when it is the
very document parsed from the very text read now, and was written by Nexus on this machine:

- an entry is named after the file's absolute path and the kind of document, and holds the
  SHA-256 of the text it was parsed from: it is used only when the text read now has the same
  hash, so an edit is never missed (whatever its size or modification time);
- every entry carries an HMAC-SHA256 of its content (format, Nexus version, path, kind, text hash
  and data), keyed by a 32-byte random secret kept outside the cache folder
  (:func:`nexus_cli.paths.cache_key_str`: ``$NEXUS_HOME/cache.key``, else ``cache.key`` in the
  user data folder; 0600, made on first use). Whoever can write the cache folder but not read
  that key cannot pair the real text with forged data, nor bring an entry from another home: an
  entry that does not verify is a miss, parsed again and rewritten.

Only documents made of JSON's types (mappings with string keys, lists, strings, numbers,
booleans, null) are kept; others (dates, binary, non-string keys, recursive aliases) are parsed
every time. Entries are JSON, never pickle, so a tampered cache cannot run code; the folders are
private (0700). A missing, unreadable, corrupt or forged entry is a miss, and so is every entry
while the key is missing, unreadable or not private (0600, owned by the user): the next write
makes a new key. A write that fails (read-only home, full disk) is skipped: the cache never
changes what a command does, only how fast it reads.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from typing import Any

from nexus_cli import __version__, fs, jsonio
from nexus_cli.errors import NexusError
from nexus_cli.paths import cache_dir_str, cache_key_str

FORMAT = 4  # 3: no base-60 numbers; 4: YAML 1.2's booleans (config_yaml._as_yaml_1_2)
KEY_BYTES = 32
_MAX_DEPTH = 64
_DOMAIN = "nexus yaml cache"  # what the MAC is for, so it can never match another use of the key
_FAILURES = (OSError, ValueError, RecursionError, NexusError)


def _entry_path(path: str, what: str) -> str:
    name = hashlib.sha256(f"{what}\0{path}".encode("utf-8", "surrogatepass")).hexdigest()
    return os.path.join(cache_dir_str(), "yaml", f"{name}.json")


def _text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _mac(key: bytes, path: str, what: str, text_hash: str, data: Any) -> bytes:
    """The HMAC of an entry's content, in one canonical form (ASCII JSON, the data's own order)."""
    signed = jsonio.dumps(
        [_DOMAIN, FORMAT, __version__, path, what, text_hash, data], compact=True, ascii_only=True
    )
    return hmac.new(key, signed.encode("ascii"), hashlib.sha256).hexdigest().encode("ascii")


def _read_key() -> bytes | None:
    """The cache key, or None when it is missing, unreadable, not 32 bytes, or not private."""
    try:
        fd = os.open(cache_key_str(), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if (
            not stat.S_ISREG(st.st_mode)
            or st.st_uid != os.geteuid()
            or st.st_mode & 0o077
            or st.st_size != KEY_BYTES
        ):
            return None
        key = os.read(fd, KEY_BYTES + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    return key if len(key) == KEY_BYTES else None


def _new_key() -> bytes:
    """Make the cache key (0600) and return it; the one another process made first, if it did.

    A missing key is published whole: written to a new file (``O_EXCL``) that is then linked to
    its name, which fails if another process got there first, so no reader sees half a key. A
    key that is there but unusable (corrupt, readable by others) is replaced atomically.
    """
    target = cache_key_str()
    os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
    key = os.urandom(KEY_BYTES)
    if os.path.lexists(target):
        fs.atomic_write(target, key, mode=0o600)
        return key
    spare = f"{target}.{os.getpid()}.{os.urandom(6).hex()}.tmp"
    fd = os.open(spare, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        try:
            os.write(fd, key)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(spare, target)
        except FileExistsError:
            winner = _read_key()
            if winner is None:
                raise OSError(f"{target}: the cache key another process made is unusable") from None
            return winner
    finally:
        os.unlink(spare)
    return key


def lookup(path: os.PathLike[str] | str, what: str, text: str) -> tuple[bool, Any]:
    """``(True, data)`` when ``text`` at ``path`` was parsed before, else ``(False, None)``."""
    key = _read_key()
    if key is None:
        return False, None
    key_path = os.path.abspath(os.fspath(path))
    try:
        with open(_entry_path(key_path, what), encoding="utf-8") as fh:
            entry = jsonio.loads(fh.read())
        if not isinstance(entry, dict) or "data" not in entry:
            return False, None
        mac = entry.get("mac")
        data = entry["data"]
        expected = _mac(key, key_path, what, _text_hash(text), data)
    except _FAILURES:
        return False, None
    if isinstance(mac, str) and hmac.compare_digest(mac.encode("utf-8", "replace"), expected):
        return True, data
    return False, None


def store(path: os.PathLike[str] | str, what: str, text: str, data: Any) -> bool:
    """Keep ``data`` (parsed from ``text`` at ``path``) if JSON holds it exactly; True if kept."""
    if not is_plain(data):
        return False
    key_path = os.path.abspath(os.fspath(path))
    target = _entry_path(key_path, what)
    try:
        folder = os.path.dirname(target)
        root = os.path.dirname(folder)
        for path_ in (os.path.dirname(root), root, folder):  # makedirs sets the leaf's mode only
            os.makedirs(path_, mode=0o700, exist_ok=True)
        key = _read_key() or _new_key()
        text_hash = _text_hash(text)
        entry = {
            "format": FORMAT,
            "nexus": __version__,
            "path": key_path,
            "what": what,
            "sha256": text_hash,
            "data": data,
            "mac": _mac(key, key_path, what, text_hash, data).decode("ascii"),
        }
        fs.atomic_write(target, jsonio.dumps(entry), mode=0o600, fsync=False)
    except _FAILURES:
        return False
    return True


def is_plain(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` survives a JSON round trip unchanged (JSON's types, string keys)."""
    if depth > _MAX_DEPTH:
        return False  # a recursive alias (`&a [*a]`) or absurd nesting: not worth keeping
    if value is None or isinstance(value, str | bool | int | float):
        return True
    if isinstance(value, list):
        return all(is_plain(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return all(
            isinstance(key, str) and is_plain(item, depth + 1) for key, item in value.items()
        )
    return False
