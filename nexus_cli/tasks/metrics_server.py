"""``nexus telemetry serve --metrics HOST:PORT``: the OpenMetrics exposition over HTTP.

A standard-library HTTP server answers ``GET /metrics`` with :func:`metrics.exposition` (computed
per request, so a scrape always sees the latest roll-ups and task history) and 404 for any other
path. It binds a loopback address only; any other address needs ``allow_remote`` (the command's
``--allow-remote``, which prints a notice), since the metrics name commands and gates. The server
runs in a thread; the caller's thread waits for Ctrl-C (or SIGTERM, which the entry point turns
into the same interrupt) and then shuts it down and closes the socket.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from nexus_cli.errors import NexusError, StateError, UsageError
from nexus_cli.tasks import metrics
from nexus_cli.telemetry.ship.openmetrics import CONTENT_TYPE

PATH = "/metrics"


def parse_address(
    text: str,
    *,
    allow_remote: bool = False,
    option: str = "--metrics",
    example: str = "127.0.0.1:9464",
    what: str = "serve metrics",
) -> tuple[str, int]:
    """``HOST:PORT`` (an IPv4 address, ``[v6]`` or ``localhost``) as ``(host, port)``;
    :class:`UsageError` for anything else, and for a non-loopback host without ``allow_remote``
    (``option``, ``example`` and ``what`` name the option in the messages)."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise UsageError(f"{option} wants HOST:PORT, e.g. {example} (got {text!r})")
    host = host.removeprefix("[").removesuffix("]")
    if host == "localhost":
        host = "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise UsageError(f"{option} wants an IP address, e.g. {example} (got {text!r})") from None
    if not address.is_loopback and not allow_remote:
        raise UsageError(
            f"refusing to {what} on {host}: only a loopback address (127.0.0.1) is allowed",
            hint="pass --allow-remote to expose them to other machines",
        )
    return host, int(port_text)


class _Handler(BaseHTTPRequestHandler):
    server_version = "nexus-metrics"

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] != PATH:
            self._answer(404, "text/plain; charset=utf-8", b"not found: try /metrics\n")
            return
        try:
            body = metrics.exposition().encode()
        except NexusError as exc:
            self._answer(503, "text/plain; charset=utf-8", f"{exc}\n".encode())
            return
        self._answer(200, CONTENT_TYPE, body)

    def _answer(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: a scrape every few seconds must not fill the terminal."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


def serve(
    host: str, port: int, *, ready: Callable[[str], object], stop: threading.Event | None = None
) -> None:
    """Serve until Ctrl-C (or ``stop`` is set); ``ready`` gets the URL once the socket listens."""
    kind = _Server6 if ":" in host else _Server
    try:
        server = kind((host, port), _Handler)
    except OSError as exc:
        raise StateError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    serve_until_stopped(server, host, PATH, name="nexus-metrics", ready=ready, stop=stop)


def serve_until_stopped(
    server: ThreadingHTTPServer,
    host: str,
    path: str,
    *,
    name: str,
    ready: Callable[[str], object],
    stop: threading.Event | None,
) -> None:
    """Serve on a thread until Ctrl-C or ``stop``; ``ready`` gets the URL of ``path`` first.
    The server is shut down and closed however the wait ends."""
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    shown = f"[{host}]" if ":" in host else host
    ready(f"http://{shown}:{server.server_address[1]}{path}")
    waiter = stop or threading.Event()
    try:
        while not waiter.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
