"""Sending one batch to the collector: only to the configured URL, within a deadline.

Split from :mod:`nexus_cli.telemetry.ship.sync` (which decides what to send and moves the mark):
this module makes the requests. Credentials in the URL become a basic ``Authorization`` header
(:func:`target`); a redirect is refused, never followed (:class:`RedirectRefused`); a
request ends at its deadline however slowly the collector answers (:class:`_Guard`); transient
failures are retried with back-off, never past the sync's deadline (:func:`send`).
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import http.client
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any, Protocol, cast

from nexus_cli import __version__
from nexus_cli.errors import NexusError


class Destination(Protocol):
    """Where batches go (a :class:`~nexus_cli.telemetry.ship.sync.SyncConfig`)."""

    @property
    def headers(self) -> dict[str, str]: ...

    @property
    def endpoint(self) -> str: ...

    @property
    def shown_endpoint(self) -> str: ...

    @property
    def wire_encoding(self) -> str: ...

    def scrub(self, text: str) -> str: ...


class SyncError(NexusError):
    category = "sync_failed"


def target(config: Destination) -> tuple[str, dict[str, str]]:
    """Where a request goes (the endpoint without its credentials) and the basic authentication
    header those credentials make (none when the settings have an Authorization header)."""
    parts = urllib.parse.urlsplit(config.endpoint)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at:
        return config.endpoint, {}
    url = urllib.parse.urlunsplit(parts._replace(netloc=host))
    if any(name.lower() == "authorization" for name in config.headers):
        return url, {}
    user, _, password = userinfo.partition(":")
    pair = f"{urllib.parse.unquote(user)}:{urllib.parse.unquote(password)}"
    return url, {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode("ascii")}


class RedirectRefused(SyncError):
    """The collector answered 3xx: Nexus sends only to the configured URL."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Refuse every redirect, so credentials never travel to the address a collector names."""

    def redirect_request(  # type: ignore[override]
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> None:
        location = headers.get("Location") or newurl
        raise RedirectRefused(
            f"the collector answered HTTP {code} redirecting to {location!r}; Nexus sends only "
            "to the configured URL and never follows redirects",
            hint="run `nexus sync setup URL` with the final address",
        )


class _Guard:
    """Ends a request at its deadline, however the collector answers: the socket timeout bounds
    each read only, so a collector that sends one byte a second would hold a request (and the
    sync lock) forever. At the deadline a timer shuts the request's sockets down, which ends
    any read or write blocked on them at once."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._conns: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(seconds, 0.0), self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Guard:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def connection(self, http_class: Any) -> Callable[..., http.client.HTTPConnection]:
        """``http_class``, made so that the deadline reaches each connection it opens."""

        def make(host: str, **kwargs: Any) -> http.client.HTTPConnection:
            conn = http_class(host, **kwargs)
            with self._lock:
                self._conns.append(conn)
                expired = self.expired
            if expired:
                raise OSError("the deadline passed")
            return cast(http.client.HTTPConnection, conn)

        return make

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            conns = list(self._conns)
        for conn in conns:
            sock = conn.sock
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class _Guarded:
    """A urllib handler whose connections the guard can end at the deadline."""

    def __init__(self, guard: _Guard) -> None:
        super().__init__()
        self.guard = guard

    def do_open(self, http_class: Any, req: Any, **kwargs: Any) -> Any:
        return super().do_open(self.guard.connection(http_class), req, **kwargs)  # type: ignore[misc]


class _GuardedHTTP(_Guarded, urllib.request.HTTPHandler):
    pass


class _GuardedHTTPS(_Guarded, urllib.request.HTTPSHandler):
    pass


def _opener(guard: _Guard) -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(_NoRedirects(), _GuardedHTTP(guard), _GuardedHTTPS(guard))


class DeadlinePassed(SyncError):
    """A request, or the whole sync, ran past its deadline."""


CONTENT_TYPES = {
    "protobuf": "application/x-protobuf",
    "json": "application/json",
    "ndjson": "application/x-ndjson",
}


def post(config: Destination, body: bytes, timeout: float, *, gzip_body: bool = True) -> None:
    url, auth = target(config)
    headers = {
        **auth,
        **config.headers,
        "Content-Type": CONTENT_TYPES[config.wire_encoding],
        "User-Agent": f"nexus-cli/{__version__}",
    }
    if gzip_body:
        body = gzip.compress(body, compresslevel=6)
        headers["Content-Encoding"] = "gzip"
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    with _Guard(timeout) as guard:
        try:
            with _opener(guard).open(request, timeout=timeout) as response:
                response.read()
                status = getattr(response, "status", None) or response.getcode()
        except (OSError, http.client.HTTPException) as exc:
            # The guard's timer and the socket's own timeout end a request at the same moment:
            # whichever came first, it is the deadline that ended it.
            if guard.expired or _timed_out(exc):
                raise DeadlinePassed(f"the collector did not answer within {timeout:g} s") from None
            raise
    if not 200 <= int(status) < 300:  # only a 2xx counts as delivered
        raise urllib.error.HTTPError(url, int(status), "not a success", response.headers, None)


def _timed_out(exc: BaseException) -> bool:
    """A socket timeout, raised as it is or wrapped by urllib (``URLError(reason=...)``)."""
    return isinstance(exc, TimeoutError) or isinstance(getattr(exc, "reason", None), TimeoutError)


def send(
    config: Destination, body: bytes, timeout: float, retries: int, backoff: float, end: float
) -> None:
    """Send one batch, retrying transient failures, never past the monotonic time ``end``."""
    reason = ""
    gzip_body = True
    for attempt in range(retries + 1):
        if attempt:
            pause = backoff * 2 ** (attempt - 1)
            if time.monotonic() + pause >= end:
                break
            time.sleep(pause)
        left = end - time.monotonic()
        if left <= 0:
            break
        try:
            post(config, body, min(timeout, left), gzip_body=gzip_body)
            return
        except DeadlinePassed as exc:
            if left >= timeout or not reason:  # else the sync's deadline cut it short
                reason = exc.message
            continue
        except RedirectRefused:
            raise  # a redirect is configuration, not a transient failure: never retried
        except urllib.error.HTTPError as exc:
            reason = f"the collector answered HTTP {exc.code}"
            if 300 <= exc.code < 400:
                location = exc.headers.get("Location") if exc.headers else None
                raise RedirectRefused(
                    f"{reason} redirecting to {location!r}; Nexus never follows redirects",
                    hint="run `nexus sync setup URL` with the final address",
                ) from None
            if exc.code == 415 and gzip_body:
                gzip_body = False  # the collector does not take gzip: send it plain right away
                try:
                    post(
                        config,
                        body,
                        max(0.1, min(timeout, end - time.monotonic())),
                        gzip_body=False,
                    )
                    return
                except DeadlinePassed:
                    continue
                except urllib.error.HTTPError as plain:
                    reason = f"the collector answered HTTP {plain.code}"
                    exc = plain
            if 400 <= exc.code < 500 and exc.code not in (408, 429):
                break
        except (urllib.error.URLError, OSError) as exc:
            cause = getattr(exc, "reason", exc)
            why = getattr(cause, "strerror", None) or cause
            reason = f"cannot reach {config.shown_endpoint}: {why}"
    if time.monotonic() >= end:
        reason = f"{reason or 'no answer'}; stopped at the sync's deadline (--deadline)"
    raise SyncError(config.scrub(reason))
