"""`nexus sync` against a real HTTP collector on 127.0.0.1: exactly-once delivery, failures."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from nexus_cli import paths
from nexus_cli.telemetry.db import synthetic, versions
from tests.conftest import run_nexus, run_process
from tests.telemetry.conftest import Receiver, db_rows


def _all_ids() -> list[int]:
    return [r[0] for r in db_rows("SELECT id FROM events ORDER BY id")]


def _record(n: int) -> None:
    for i in range(n):
        run_nexus("version") if i % 3 else run_nexus("no-such-command")


def test_otlp_delivers_every_event_once_with_semantic_attributes(receiver: Receiver) -> None:
    _record(6)
    setup = run_nexus("sync", "setup", receiver.url, "--header", "Authorization=Bearer s3cret")
    assert setup.exit_code == 0 and "s3cret" not in setup.stderr + setup.stdout
    result = run_nexus("--no-telemetry", "sync", "now", "--json")
    assert result.exit_code == 0, result.stderr
    ids = _all_ids()
    assert sorted(receiver.event_ids()) == ids and result.json()["sent"] == len(ids)
    path, headers, _ = receiver.accepted[0]
    assert path == "/v1/logs" and headers["Authorization"] == "Bearer s3cret"
    records = receiver.otlp_records()
    attrs = [{a["key"]: a["value"] for a in r["attributes"]} for r in records]
    assert {a["process.exit.code"]["intValue"] for a in attrs} == {"0", "2"}
    failed = [a for a in attrs if a["process.exit.code"]["intValue"] == "2"]
    assert all(a["error.type"]["stringValue"] == "usage" for a in failed)
    assert all("session.id" in a for a in attrs)
    assert all("error.type" not in a for a in attrs if a["process.exit.code"]["intValue"] == "0")
    again = run_nexus("--no-telemetry", "sync", "now", "--json")
    assert again.json()["sent"] == 0 and len(receiver.accepted) == 1


def test_a_receiver_failing_first_then_succeeding_gets_each_event_exactly_once(
    receiver: Receiver,
) -> None:
    synthetic.fill(str(paths.telemetry_db_path()), 1200, 3)
    run_nexus("sync", "setup", receiver.url)
    receiver.plan = [500]  # the first request fails, the retry succeeds
    first = run_nexus("--no-telemetry", "sync", "now", "--batch-size", "500")
    assert first.exit_code == 0, first.stderr
    assert receiver.refused == 1
    # a whole sync that fails part-way: batch 1 accepted, batch 2 refused on every attempt
    _record(3)
    synthetic.fill(str(paths.telemetry_db_path()), 700, 3, seed=3)
    receiver.plan = [200, 500, 500]
    failed = run_nexus("--no-telemetry", "sync", "now", "--batch-size", "500", "--retries", "1")
    assert failed.exit_code == 1
    assert len(failed.stderr.splitlines()) == 1
    assert failed.stderr.startswith(
        "error: sync failed: the collector answered HTTP 500; sent 500,"
    )
    status = run_nexus("sync", "status", "--json").json()
    assert status["pending"] == 203
    final = run_nexus("--no-telemetry", "sync", "now", "--batch-size", "500")
    assert final.exit_code == 0, final.stderr
    delivered = receiver.event_ids()
    assert sorted(delivered) == _all_ids() and len(delivered) == len(set(delivered))


def test_unreachable_collector_loses_nothing(receiver: Receiver) -> None:
    _record(2)
    run_nexus("sync", "setup", "http://127.0.0.1:9/collector")
    result = run_nexus("--no-telemetry", "sync", "now", "--retries", "0", "--timeout", "2")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: sync failed: cannot reach http://127.0.0.1:9/collector")
    assert len(result.stderr.splitlines()) == 1
    status = run_nexus("--no-telemetry", "sync", "status", "--json").json()
    assert status["pending"] + status["pending_sync_records"] == len(_all_ids())
    run_nexus("--no-telemetry", "sync", "setup", receiver.url)
    assert run_nexus("--no-telemetry", "sync", "now").exit_code == 0
    assert sorted(receiver.event_ids()) == _all_ids()


def test_json_protocol_posts_ndjson(receiver: Receiver) -> None:
    _record(4)
    run_nexus("sync", "setup", f"{receiver.url}/ingest", "--protocol", "json")
    assert run_nexus("--no-telemetry", "sync", "now").exit_code == 0
    path, headers, _ = receiver.accepted[0]
    assert path == "/ingest" and headers["Content-Type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in receiver.bodies()[0].decode().splitlines()]
    assert [line["id"] for line in lines] == _all_ids()


def test_settings_are_private_and_secrets_never_printed(receiver: Receiver) -> None:
    run_nexus("sync", "setup", receiver.url, "--header", "X-Api-Key=topsecret")
    config = paths.nexus_home() / "sync.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    for args in (["sync", "status"], ["sync", "status", "--json"], ["telemetry", "status"]):
        result = run_nexus(*args)
        assert result.exit_code == 0, result.stderr
        assert "topsecret" not in result.stdout + result.stderr
    assert "X-Api-Key=<hidden>" in run_nexus("sync", "status").stdout
    bad = run_nexus("sync", "setup", "ftp://example.invalid")
    assert bad.exit_code == 2 and "not an http(s) URL" in bad.stderr
    assert run_nexus("sync", "setup", receiver.url, "--header", "novalue").exit_code == 2


def test_purged_ids_restart_and_are_still_sent(receiver: Receiver) -> None:
    _record(3)
    run_nexus("sync", "setup", receiver.url)
    assert run_nexus("--no-telemetry", "sync", "now").exit_code == 0
    assert run_nexus("telemetry", "purge", "--yes").exit_code == 0
    _record(2)
    assert run_nexus("--no-telemetry", "sync", "now").exit_code == 0
    assert receiver.event_ids() == [1, 2, 3, 4, 1, 2]  # 3 + the setup event, then 2 new


def test_auto_sync_runs_in_the_background_after_a_command(receiver: Receiver) -> None:
    run_nexus("sync", "setup", receiver.url)
    assert run_nexus("--no-telemetry", "sync", "auto", "on", "--interval", "0").exit_code == 0
    started = time.perf_counter()
    done = run_process("version", env={"NEXUS_HOME": os.environ["NEXUS_HOME"]})
    elapsed = time.perf_counter() - started
    assert done.returncode == 0 and elapsed < 5
    deadline = time.time() + 20
    while time.time() < deadline and not receiver.accepted:
        time.sleep(0.1)
    assert sorted(receiver.event_ids()) == _all_ids() and receiver.event_ids()
    assert run_nexus("--no-telemetry", "sync", "auto", "off").exit_code == 0
    assert not (paths.nexus_home() / "sync.auto").exists()


def test_auto_and_now_need_a_destination() -> None:
    for args in (["sync", "auto", "on"], ["sync", "now"], ["sync", "status"]):
        result = run_nexus(*args)
        assert result.exit_code == 1, args
        assert result.stderr.splitlines()[0] == "error: sync is not set up"
    assert not (paths.nexus_home() / "sync.auto").exists()


@dataclass
class Seen:
    """Every request a server received: (method, path, headers, body)."""

    url: str
    requests: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)


def _serve(answer: Callable[[BaseHTTPRequestHandler], None]) -> Iterator[Seen]:
    seen = Seen(url="")

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
            seen.requests.append((self.command, self.path, dict(self.headers), body))
            answer(self)

        do_GET = do_POST = do_PUT = _any

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    seen.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        server.shutdown()
        server.server_close()


def _ok(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", "0")
    handler.end_headers()


@pytest.fixture
def elsewhere() -> Iterator[Seen]:
    """A second local server that records whatever reaches it (it must receive nothing)."""
    yield from _serve(_ok)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_fails_the_sync_and_sends_nothing_elsewhere(
    elsewhere: Seen, status: int
) -> None:
    target = f"{elsewhere.url}/stolen"

    def redirect(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Location", target)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    _record(3)
    for collector in _serve(redirect):
        setup = run_nexus(
            "sync", "setup", collector.url, "--header", "Authorization=Bearer s3cret",
            "--header", "X-Api-Key=k3y",
        )  # fmt: skip
        assert setup.exit_code == 0
        pending = run_nexus("--no-telemetry", "sync", "status", "--json").json()["pending"]
        result = run_nexus("--no-telemetry", "sync", "now", "--retries", "2")
        assert result.exit_code == 1
        assert result.stderr.startswith(
            f"error: sync failed: the collector answered HTTP {status} redirecting to '{target}'"
        ), result.stderr
        assert "hint: run `nexus sync setup URL` with the final address" in result.stderr
        assert "Traceback" not in result.stderr and "unexpected" not in result.stderr
        assert len(collector.requests) == 1  # one request, not retried
        assert collector.requests[0][2]["Authorization"] == "Bearer s3cret"
        after = run_nexus("--no-telemetry", "sync", "status", "--json").json()
        assert after["pending"] == pending and after["events_sent"] == 0
    assert elsewhere.requests == []


def test_a_non_2xx_success_class_answer_is_not_delivery(elsewhere: Seen) -> None:
    def no_content_but_204(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(204)
        handler.end_headers()

    _record(2)
    for collector in _serve(no_content_but_204):
        run_nexus("sync", "setup", collector.url)
        assert run_nexus("--no-telemetry", "sync", "now").exit_code == 0  # 204 is a 2xx
    for collector in _serve(
        lambda h: (h.send_response(304), h.send_header("Content-Length", "0"), h.end_headers())
    ):
        run_nexus("sync", "setup", collector.url)
        _record(1)
        before = run_nexus("--no-telemetry", "sync", "status", "--json").json()["pending"]
        result = run_nexus("--no-telemetry", "sync", "now", "--retries", "0")
        assert result.exit_code == 1 and "HTTP 304" in result.stderr
        after = run_nexus("--no-telemetry", "sync", "status", "--json").json()["pending"]
        assert after == before > 0


def test_collector_text_is_escaped_on_the_terminal(elsewhere: Seen) -> None:
    location = f"{elsewhere.url}/\x1b]0;owned\x07\x1b[2J"

    def redirect(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    _record(1)
    for collector in _serve(redirect):
        run_nexus("sync", "setup", collector.url)
        result = run_nexus("--no-telemetry", "sync", "now", "--retries", "0")
    assert result.exit_code == 1
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert elsewhere.requests == []


def test_protobuf_gzip_request_parses_and_status_reaches_zero(receiver: Receiver) -> None:
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    from nexus_cli import __version__

    _record(3)
    assert run_nexus("sync", "setup", receiver.url, "--encoding", "protobuf").exit_code == 0
    assert run_nexus("sync", "now").exit_code == 0
    _, headers, _ = receiver.accepted[0]
    assert headers["Content-Type"] == "application/x-protobuf"
    assert headers["Content-Encoding"] == "gzip"
    assert headers["User-Agent"] == f"nexus-cli/{__version__}"
    request = ExportLogsServiceRequest.FromString(receiver.bodies()[0])
    assert len(request.resource_logs[0].scope_logs[0].log_records) == len(_all_ids()) - 1
    status = run_nexus("sync", "status", "--json").json()
    assert status["pending"] == 0
    assert status["pending_sync_records"] == 1  # `sync now` itself, sent by the next sync
    shown = run_nexus("--no-telemetry", "sync", "status")
    assert "pending:     0 events (+" in shown.stdout
    assert run_nexus("--no-telemetry", "sync", "now").exit_code == 0
    final = run_nexus("--no-telemetry", "sync", "status", "--json").json()
    assert final["pending"] == 0 and final["pending_sync_records"] == 0
    assert sorted(receiver.event_ids()) == _all_ids()


def test_a_collector_that_refuses_gzip_gets_plain_bodies(receiver: Receiver) -> None:
    _record(2)
    receiver.plan = [415]
    run_nexus("sync", "setup", receiver.url, "--encoding", "json")
    assert run_nexus("--no-telemetry", "sync", "now", "--retries", "0").exit_code == 0
    _, headers, body = receiver.accepted[0]
    assert "Content-Encoding" not in headers
    assert json.loads(body)["resourceLogs"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:4318/\r\nX-Evil: 1",
        "http://127.0.0.1:4318/\nv1",
        "http://127.0.0.1:4318/\tv1",
        "http://127.0.0.1:4318/\x00",
        "http://127.0.0.1:4318/\x85",
    ],
)
def test_a_url_with_a_control_character_is_refused(url: str) -> None:
    result = run_nexus("sync", "setup", url)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: the URL contains a control character")
    assert "X-Evil" not in result.stderr and "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.startswith("error:")]) == 1
    assert not (paths.nexus_home() / "sync.json").exists()


def test_a_stored_url_with_a_line_break_is_refused_before_sending(receiver: Receiver) -> None:
    run_nexus("sync", "setup", receiver.url)
    config = paths.nexus_home() / "sync.json"
    data = json.loads(config.read_text())
    data["url"] = receiver.url + "/\r\nX-Evil: 1"  # by hand, or by a version that did not check
    config.write_text(json.dumps(data))
    result = run_nexus("--no-telemetry", "sync", "now")
    assert result.exit_code != 0 and "unusable sync URL" in result.stderr
    assert "Traceback" not in result.stderr and receiver.accepted == []


def test_credentials_in_the_url_are_sent_as_basic_auth_and_never_shown(
    receiver: Receiver,
) -> None:
    _record(2)
    host = receiver.url.removeprefix("http://")
    setup = run_nexus("sync", "setup", f"http://alice:s3cr%40t@{host}")
    assert setup.exit_code == 0, setup.stderr
    assert "s3cr" not in setup.stderr and "alice:***@" in setup.stderr
    now = run_nexus("--no-telemetry", "sync", "now", "--json")
    assert now.exit_code == 0, now.stderr
    assert now.json()["destination"] == f"http://alice:***@{host}/v1/logs"
    path, headers, _ = receiver.accepted[0]
    assert path == "/v1/logs" and headers["Authorization"] == "Basic YWxpY2U6czNjckB0"
    shown = [
        run_nexus("sync", "status"),
        run_nexus("sync", "status", "--json"),
        run_nexus("telemetry", "status"),
        run_nexus("telemetry", "status", "--json"),
    ]
    assert run_nexus("sync", "status", "--json").json()["url"] == f"http://alice:***@{host}/v1/logs"
    for result in shown:
        assert result.exit_code == 0, result.stderr
        assert "s3cr" not in result.stdout + result.stderr
    # nor stored: the mark's key is a salted hash, so a dump (meant to be shared) holds none
    dump = run_nexus("--no-telemetry", "export", "--sql")
    assert dump.exit_code == 0 and 'INSERT INTO "sync_marks"' in dump.stdout
    assert "s3cr" not in dump.stdout and "alice" not in dump.stdout
    assert b"s3cr" not in paths.telemetry_db_path().read_bytes()
    assert run_nexus("sync", "status", "--json").json()["events_sent"] > 0  # the mark is found


def test_a_mark_kept_under_the_clear_url_is_hashed_by_the_upgrade(receiver: Receiver) -> None:
    """Databases before m013 kept the mark under ``PROTOCOL URL``, credentials and all: the
    upgrade replaces each key with its hash (the old text overwritten), and the mark still
    counts, so nothing is sent twice."""
    _record(3)
    host = receiver.url.removeprefix("http://")
    assert run_nexus("sync", "setup", f"http://bob:pa55word@{host}").exit_code == 0
    assert run_nexus("--no-telemetry", "sync", "now").exit_code == 0
    sent = len(receiver.accepted)
    sent_events = run_nexus("--no-telemetry", "sync", "status", "--json").json()["events_sent"]
    conn = sqlite3.connect(paths.telemetry_db_path())
    with conn:
        conn.execute(
            "UPDATE sync_marks SET destination = ?",
            [f"otlp http://bob:pa55word@{host}/v1/logs"],
        )
        conn.execute(
            f"PRAGMA user_version = {versions.MIGRATIONS.index(versions.m013_sync_marks_hashed)}"
        )
    conn.close()
    status = run_nexus("--no-telemetry", "sync", "status", "--json")
    assert status.exit_code == 0 and status.json()["events_sent"] == sent_events
    assert b"pa55word" not in paths.telemetry_db_path().read_bytes()
    assert run_nexus("--no-telemetry", "sync", "now").exit_code == 0
    assert len(receiver.accepted) == sent  # nothing new, nothing again


@pytest.mark.parametrize(
    ("url", "hidden"),
    [
        ("http://alice:s3cret@127.0.0.1:9/collector", "http://alice:***@127.0.0.1:9/collector"),
        ("http://t0ken-s3cret@127.0.0.1:9/collector", "http://***@127.0.0.1:9/collector"),
    ],
)
def test_credentials_in_the_url_never_reach_an_error(url: str, hidden: str) -> None:
    _record(1)
    assert run_nexus("sync", "setup", url).exit_code == 0
    failed = run_nexus("--no-telemetry", "sync", "now", "--retries", "0", "--timeout", "2")
    assert failed.exit_code == 1
    assert failed.stderr.startswith(f"error: sync failed: cannot reach {hidden}/v1/logs")
    assert "s3cret" not in failed.stderr
    bad = run_nexus("sync", "setup", url.replace("http://", "ftp://"))
    assert bad.exit_code == 2 and "not an http(s) URL" in bad.stderr
    assert "s3cret" not in bad.stderr and "***@" in bad.stderr


@pytest.fixture
def trickler() -> Iterator[str]:
    """A real collector on 127.0.0.1 that reads the request, then answers one byte per 0.5 s:
    every single read is quick, so only an overall deadline ends a request to it."""
    import socket

    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def answer(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(30)
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            while len(body) < length:
                body += conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100_000:
                if stop.wait(0.5):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    server.close()


def _sync_lock_is_free() -> bool:
    from nexus_cli import fs
    from nexus_cli.errors import ConflictError

    try:
        with fs.locked(str(paths.nexus_home() / "sync.lock"), blocking=False):
            return True
    except ConflictError:
        return False


@pytest.mark.parametrize(
    ("args", "at_least", "at_most"),
    [
        (("--timeout", "2", "--retries", "0"), 2, 8),
        (("--timeout", "2"), 2, 20),  # 4 tries of 2 s, with 3.5 s of backoff between them
        (("--timeout", "2", "--deadline", "3"), 2, 8),  # the whole sync stops at 3 s
    ],
)
def test_a_collector_that_trickles_bytes_cannot_hold_a_sync(
    trickler: str, args: tuple[str, ...], at_least: float, at_most: float
) -> None:
    """Issue #25: `sync now --timeout 5` had only per-read timeouts, so a collector trickling
    bytes held it (and sync.lock) forever."""
    _record(2)
    assert run_nexus("sync", "setup", trickler, "--protocol", "json").exit_code == 0
    started = time.monotonic()
    done = run_process("--no-telemetry", "sync", "now", *args, timeout=60)
    took = time.monotonic() - started
    assert done.returncode != 0
    assert at_least <= took <= at_most, took
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    assert "the collector did not answer within 2 s" in errors[0], done.stderr
    if "--deadline" in args:
        assert "stopped at the sync's deadline" in errors[0]
    assert "sent 0" in errors[0] and "still pending" in errors[0]
    assert "Traceback" not in done.stderr
    assert _sync_lock_is_free()
    status = run_nexus("--no-telemetry", "sync", "status", "--json").json()
    assert status["last_event_id"] == 0  # nothing counted as delivered
