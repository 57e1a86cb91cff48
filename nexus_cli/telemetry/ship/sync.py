"""``nexus sync``: send events the collector has not seen, in bounded batches, losing nothing.

The destination lives in ``$NEXUS_HOME/sync.json`` (mode 0600: headers may hold secrets). The
high-water mark (the last event id the destination accepted) is the ``sync_marks`` table; it
moves only after the collector answered 2xx for a batch, so a failed sync is resent next time.

Requests go to the configured URL and nowhere else: a redirect (3xx) is a failure naming its
``Location``, never followed, so the ``Authorization`` and custom headers are never re-sent to
another address and the mark does not move.

Credentials in the URL (``https://user:pass@host``) are sent as HTTP basic authentication,
never as part of the address, and never shown: ``sync status``, ``sync now`` and every error
show the URL as :func:`shown` gives it (``https://user:***@host``).
"""

from __future__ import annotations

import importlib.util
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from nexus_cli import fs, jsonio, paths
from nexus_cli.errors import ConfigError, ConflictError, NotFoundError, UsageError
from nexus_cli.extras import missing_hint
from nexus_cli.telemetry.db.schema import stamp
from nexus_cli.telemetry.journal.privacy import sync_mark_key
from nexus_cli.telemetry.ship import otlp, transport
from nexus_cli.telemetry.ship.transport import SyncError

if TYPE_CHECKING:
    from nexus_cli.telemetry.db.handle import Db

CONFIG_FILE = "sync.json"
AUTO_SENTINEL = "sync.auto"
LOCK_FILE = "sync.lock"
DEADLINE_S = 300.0  # the whole of one `sync now`, however many batches and retries
PROTOCOLS = ("otlp", "json")


ENCODINGS = ("auto", "protobuf", "json")


def protobuf_available() -> bool:
    try:
        return importlib.util.find_spec("opentelemetry.proto") is not None
    except (ImportError, ValueError):
        return False


@dataclass
class SyncConfig:
    url: str
    protocol: str = "otlp"
    headers: dict[str, str] = field(default_factory=dict)
    encoding: str = "auto"  # OTLP only: protobuf, json, or auto (protobuf when installed)

    @property
    def wire_encoding(self) -> str:
        """``protobuf`` or ``json`` for OTLP (``ndjson`` for the json protocol)."""
        if self.protocol != "otlp":
            return "ndjson"
        if self.encoding == "auto":
            return "protobuf" if protobuf_available() else "json"
        return self.encoding

    @property
    def endpoint(self) -> str:
        if self.protocol == "otlp" and not self.url.rstrip("/").endswith("/v1/logs"):
            return self.url.rstrip("/") + "/v1/logs"
        return self.url

    @property
    def destination(self) -> str:
        """The key of the sync mark: the salted hash of the protocol and the whole URL (which
        may carry credentials: never stored, shown or dumped by ``export --sql``)."""
        return sync_mark_key(f"{self.protocol} {self.endpoint}")

    @property
    def shown_endpoint(self) -> str:
        """The endpoint as Nexus prints it: credentials in it replaced by ``***``."""
        return shown(self.endpoint)

    def scrub(self, text: str) -> str:
        """``text`` with the URL's credentials (if any) replaced by ``***``."""
        userinfo = urllib.parse.urlsplit(self.url).netloc.rpartition("@")[0]
        for secret in {userinfo, *userinfo.split(":", 1)[1:], urllib.parse.unquote(userinfo)}:
            if secret:
                text = text.replace(secret, "***")
        return text


def shown(url: str) -> str:
    """``url`` as it may be printed: the password replaced by ``***`` (``https://user:***@host``),
    or the whole user part when there is no password (a lone name may be a token)."""
    parts = urllib.parse.urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at:
        return url
    user, colon, _password = userinfo.partition(":")
    return urllib.parse.urlunsplit(
        parts._replace(netloc=f"{user}:***@{host}" if colon else f"***@{host}")
    )


def check_url(url: str) -> str:
    """``url`` if it is an http(s) URL without control characters; a :class:`UsageError` (exit
    2, one line, credentials hidden) otherwise."""
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in url):
        raise UsageError(
            "the URL contains a control character (a line break, a tab…)",
            hint="give the collector's address on one line, e.g. http://127.0.0.1:4318",
        )
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise UsageError(f"not an http(s) URL: {shown(url)!r}", hint="e.g. http://127.0.0.1:4318")
    return url


def _home_file(name: str) -> str:
    return os.path.join(paths.nexus_home_str(), name)


def parse_header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or any(c in text for c in "\r\n"):
        raise UsageError(f"--header expects NAME=VALUE, got {text.split('=')[0]!r}=...")
    return name.strip(), value.strip()


def setup(url: str, protocol: str, headers: list[str], encoding: str = "auto") -> SyncConfig:
    check_url(url)
    if encoding == "protobuf" and not protobuf_available():
        raise UsageError(
            "OTLP protobuf encoding needs the opentelemetry-proto package",
            hint=f"{missing_hint('otlp')}, or use --encoding json",
        )
    config = SyncConfig(url, protocol, dict(parse_header(h) for h in headers), encoding)
    path = _home_file(CONFIG_FILE)
    paths.ensure_private_dir(os.path.dirname(path))
    data = {"url": url, "protocol": protocol, "encoding": encoding, "headers": config.headers}
    fs.atomic_write(path, jsonio.dumps(data, indent=2, ascii_only=True), mode=0o600)
    return config


def load() -> SyncConfig:
    path = _home_file(CONFIG_FILE)
    try:
        with open(path, encoding="utf-8") as fh:
            data = jsonio.loads(fh.read())
        try:
            url = check_url(str(data["url"]))
        except UsageError as exc:  # written by hand, or by a version that did not check
            raise ConfigError(
                f"{path}: unusable sync URL: {exc.message}",
                hint="run `nexus sync setup URL` again",
            ) from None
        return SyncConfig(
            url,
            str(data.get("protocol", "otlp")),
            {str(k): str(v) for k, v in data.get("headers", {}).items()},
            str(data.get("encoding", "auto")) if data.get("encoding") in ENCODINGS else "auto",
        )
    except FileNotFoundError:
        raise NotFoundError("sync is not set up", hint="run `nexus sync setup URL` first") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{path}: unreadable sync settings ({exc})") from None


def set_auto(enabled: bool, min_interval_s: int = 60) -> None:
    sentinel = _home_file(AUTO_SENTINEL)
    if enabled:
        load()  # refuse to turn on auto sync without a destination
        fs.atomic_write(sentinel, f"{min_interval_s}\n", mode=0o600, fsync=False)
    elif os.path.exists(sentinel):
        os.unlink(sentinel)


def auto_enabled() -> bool:
    return os.path.exists(_home_file(AUTO_SENTINEL))


@contextmanager
def _locked(wait: bool) -> Iterator[bool]:
    """Hold the sync lock; yield False at once when ``wait`` is off and another sync holds it."""
    paths.ensure_private_dir(paths.nexus_home_str())
    with ExitStack() as stack:
        try:
            stack.enter_context(fs.locked(_home_file(LOCK_FILE), blocking=wait))
        except ConflictError:
            yield False
            return
        yield True


def mark(db: Db, config: SyncConfig) -> dict[str, Any]:
    row = db.execute(
        "SELECT last_event_id, last_sync_at, events_sent FROM sync_marks WHERE destination = ?",
        [config.destination],
    ).fetchone()
    last_id = row[0] if row else 0
    if last_id and (db.execute("SELECT max(id) FROM events").fetchone()[0] or 0) < last_id:
        last_id = 0  # the events were purged and ids started again
    pending, own = db.execute(
        "SELECT count(*), coalesce(sum(command LIKE 'sync %'), 0) FROM events WHERE id > ?",
        [last_id],
    ).fetchone()
    # A sync's own event is written after it sent everything, so it always waits for the next
    # sync: it is counted apart, so that right after `sync now` there is nothing else pending.
    return {
        "last_event_id": last_id,
        "last_sync_at": row[1] if row else None,
        "events_sent": row[2] if row else 0,
        "pending": pending - own,
        "pending_sync_records": own,
    }


def _batch(db: Db, after: int, size: int) -> list[dict[str, Any]]:
    cursor = db.execute("SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?", [after, size])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def sync_now(
    db: Db,
    *,
    batch_size: int = 500,
    timeout: float = 10.0,
    retries: int = 3,
    backoff: float = 0.5,
    wait_for_lock: bool = True,
    deadline: float = DEADLINE_S,
) -> dict[str, Any]:
    """Send every unsent event. Raises :class:`SyncError` (with what was sent) on failure.

    Each request ends after ``timeout`` seconds in all (connect, send, answer), and the whole
    sync after ``deadline`` seconds: then it stops, what was accepted stays sent (the mark moved
    batch by batch), and the lock is released."""
    config = load()
    end = time.monotonic() + deadline
    with _locked(wait_for_lock) as got_lock:
        if not got_lock:
            return {"sent": 0, "skipped": "another sync is running"}
        after, sent = mark(db, config)["last_event_id"], 0
        while rows := _batch(db, after, batch_size):
            body = (
                otlp.logs_payload(rows, config.wire_encoding)
                if config.protocol == "otlp"
                else otlp.ndjson_payload(rows)
            )
            try:
                transport.send(config, body, timeout, retries, backoff, end)
            except SyncError as exc:
                pending = mark(db, config)["pending"]
                raise SyncError(
                    f"sync failed: {exc.message}; sent {sent}, {pending} still pending "
                    "(they are sent next time)",
                    hint=exc.hint,
                ) from None
            after, sent = rows[-1]["id"], sent + len(rows)
            with db.atomic():
                db.execute(
                    "INSERT INTO sync_marks (destination, last_event_id, last_sync_at, events_sent) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (destination) DO UPDATE SET "
                    "last_event_id = excluded.last_event_id, last_sync_at = excluded.last_sync_at, "
                    "events_sent = events_sent + excluded.events_sent",
                    [config.destination, after, stamp_now(), len(rows)],
                )
        return {"sent": sent, "destination": config.shown_endpoint, "last_event_id": after}


def stamp_now() -> str:
    return stamp(datetime.now(UTC))
