"""``nexus telemetry receive --listen 127.0.0.1:PORT``: an OTLP/HTTP receiver for Claude Code.

Point Claude Code's exporter at it (``OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:PORT``,
``OTEL_EXPORTER_OTLP_PROTOCOL=http/json``): ``POST /v1/metrics`` and ``POST /v1/logs`` are read
by :mod:`nexus_cli.telemetry.agents.otlp_in` and their usage stored in ``telemetry.db``; every
other attribute of the export is dropped. ``http/protobuf`` is read too when the optional
``opentelemetry-proto`` package is installed (``pip install 'nexus-cli[otlp]'``), else answered
415 with that hint.

Untrusted input: the server binds a loopback address only (no option widens it); a body must
say its length, at most :data:`MAX_BODY` bytes (also after gzip), or it is refused (411, 413)
before it is read; a body that is not an OTLP export is answered 400 and nothing of it is kept.
It runs as ``telemetry serve --metrics`` does (:mod:`nexus_cli.tasks.metrics_server`): a thread
serves, the caller waits for Ctrl-C or SIGTERM, then the socket is closed.
"""

from __future__ import annotations

import socket
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from nexus_cli import jsonio
from nexus_cli.errors import NexusError, StateError, UsageError
from nexus_cli.extras import missing_hint
from nexus_cli.tasks import metrics_server
from nexus_cli.telemetry.agents import otlp_in
from nexus_cli.telemetry.agents.records import BadRecord, Hasher, UsageRecord, sealed
from nexus_cli.telemetry.db import agent_usage
from nexus_cli.telemetry.db import store as telemetry_store

MAX_BODY = 4 * 1024 * 1024
PATHS = {"/v1/metrics": otlp_in.metrics, "/v1/logs": otlp_in.logs}
JSON_TYPES = ("application/json",)
PROTOBUF_TYPES = ("application/x-protobuf", "application/protobuf")


class Refused(Exception):
    """A request answered with an error status (and nothing stored)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` on a loopback address (``127.0.0.1``, ``localhost``, ``[::1]``) only."""
    try:
        return metrics_server.parse_address(
            text, option="--listen", example="127.0.0.1:4318", what="listen"
        )
    except UsageError as exc:
        raise UsageError(
            exc.message, hint="the receiver takes a loopback address only, e.g. 127.0.0.1:4318"
        ) from None


@dataclass
class Counts:
    exports: int = 0
    records: int = 0
    refused: int = 0  # exports refused whole
    rejected: int = 0  # records left out of the exports taken


@dataclass
class Decoded:
    """One export's usage records, and why each record (data point or log record) left out
    was refused."""

    records: list[UsageRecord]
    rejected: list[str]

    def answer(self, path: str) -> dict[str, Any]:
        """The body of the 200 answer: OTLP's ``partialSuccess`` when some were refused."""
        if not self.rejected:
            return {}
        field = "rejectedDataPoints" if path == "/v1/metrics" else "rejectedLogRecords"
        why = self.rejected[0] + (
            f" (and {len(self.rejected) - 1} more)" if len(self.rejected) > 1 else ""
        )
        return {"partialSuccess": {field: len(self.rejected), "errorMessage": why}}


def decode(path: str, content_type: str, body: bytes) -> Decoded:
    """The usage records of one export; :class:`Refused` for anything that is not one (a
    record with a bad value is left out and counted: :attr:`Decoded.rejected`)."""
    read = PATHS.get(path)
    if read is None:
        raise Refused(404, "not found: POST /v1/metrics or /v1/logs")
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind in PROTOBUF_TYPES:
        doc = _protobuf(path, body)
    elif kind in JSON_TYPES:
        try:
            doc = jsonio.loads(body, max_bytes=MAX_BODY)
        except jsonio.JSONError as exc:
            raise Refused(400, f"not JSON: {exc}") from None
    else:
        raise Refused(415, "send application/json or application/x-protobuf")
    hasher = Hasher()
    rejected: list[str] = []
    try:
        return Decoded([sealed(r, hasher) for r in read(doc, hasher, rejected)], rejected)
    except BadRecord as exc:
        raise Refused(400, f"not an OTLP export: {exc}") from None


def _protobuf(path: str, body: bytes) -> Any:
    try:
        from google.protobuf import json_format
        from google.protobuf.message import DecodeError
        from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
        from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
    except ImportError:
        raise Refused(
            415, f"protobuf needs opentelemetry-proto: {missing_hint('otlp')} (or send http/json)"
        ) from None
    message: Any = (
        metrics_service_pb2.ExportMetricsServiceRequest()
        if path == "/v1/metrics"
        else logs_service_pb2.ExportLogsServiceRequest()
    )
    try:
        message.ParseFromString(body)
    except DecodeError:
        raise Refused(400, "not an OTLP protobuf export") from None
    return json_format.MessageToDict(message, use_integers_for_enums=True)


def store(records: list[UsageRecord], db_path: str | None = None) -> None:
    """Store records whose task id is sealed (:func:`records.sealed`)."""
    with telemetry_store.migrated(db_path) as db, db.atomic():
        agent_usage.put(db, records)


def _gunzip(body: bytes) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, MAX_BODY + 1)
    except zlib.error:
        raise Refused(400, "the gzip body is damaged") from None
    if len(out) > MAX_BODY or inflater.unconsumed_tail:
        raise Refused(413, f"the body is larger than {MAX_BODY:,} bytes once unpacked")
    return out


class _Handler(BaseHTTPRequestHandler):
    server_version = "nexus-otlp"
    server: _Server

    def do_POST(self) -> None:
        try:
            body = self._body()
            path = self.path.split("?", 1)[0]
            decoded = decode(path, self.headers.get("Content-Type", ""), body)
            if decoded.records:
                store(decoded.records, self.server.db_path)
        except Refused as exc:
            self.server.counts.refused += 1
            self._answer(exc.status, {"error": str(exc)})
            return
        except NexusError as exc:
            self._answer(503, {"error": str(exc)})
            return
        self.server.counts.exports += 1
        self.server.counts.records += len(decoded.records)
        self.server.counts.rejected += len(decoded.rejected)
        self._answer(200, decoded.answer(path))

    def do_GET(self) -> None:
        self._answer(405, {"error": "POST an OTLP export to /v1/metrics or /v1/logs"})

    def _body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.close_connection = True
            raise Refused(411, "say the body's length (Content-Length)")
        if int(length) > MAX_BODY:
            self.close_connection = True
            raise Refused(413, f"the body is larger than {MAX_BODY:,} bytes")
        body = self.rfile.read(int(length))
        encoding = (self.headers.get("Content-Encoding") or "identity").strip().lower()
        if encoding == "gzip":
            return _gunzip(body)
        if encoding != "identity":
            raise Refused(415, "Content-Encoding must be gzip or none")
        return body

    def _answer(self, status: int, doc: dict[str, Any]) -> None:
        payload = jsonio.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: an export every few seconds must not fill the terminal."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    counts: Counts
    db_path: str | None = None


class _Server6(_Server):
    address_family = socket.AF_INET6


def receive(
    host: str,
    port: int,
    *,
    ready: Callable[[str], object],
    stop: threading.Event | None = None,
    db_path: str | None = None,
) -> Counts:
    """Receive until Ctrl-C (or ``stop``); ``ready`` gets the endpoint once the socket listens.
    Returns what was received."""
    kind = _Server6 if ":" in host else _Server
    try:
        server = kind((host, port), _Handler)
    except OSError as exc:
        raise StateError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    server.counts = Counts()
    server.db_path = db_path
    with telemetry_store.migrated(db_path):
        pass  # migrate once before the first export, not inside a request
    metrics_server.serve_until_stopped(server, host, "", name="nexus-otlp", ready=ready, stop=stop)
    return server.counts
