"""Telemetry fixtures: filled databases, a real HTTP receiver, and the chromium marker."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from nexus_cli import paths
from nexus_cli.telemetry.db import synthetic
from tests.conftest import fold_telemetry


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Chromium tests skip without a browser, and fail instead when NEXUS_REQUIRE_CHROMIUM=1."""
    if "chromium" not in item.keywords or chromium_binary() is not None:
        return
    if os.environ.get("NEXUS_REQUIRE_CHROMIUM") == "1":
        pytest.fail("NEXUS_REQUIRE_CHROMIUM=1 but no chromium on PATH (apt install chromium)")
    pytest.skip("no chromium on PATH (apt install chromium)")


def db_rows(sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    fold_telemetry()
    conn = sqlite3.connect(paths.telemetry_db_path())
    try:
        return list(conn.execute(sql, params))
    finally:
        conn.close()


def write_config(data: dict[str, Any]) -> None:
    home = paths.nexus_home()
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.json").write_text(json.dumps(data))


@pytest.fixture
def filled() -> Path:
    """$NEXUS_HOME/telemetry.db with 20,000 synthetic events over 60 days (retention off)."""
    write_config({"telemetry": {"retention_days": 0}})
    synthetic.fill(str(paths.telemetry_db_path()), 20_000, 60, seed=11)
    return paths.telemetry_db_path()


@dataclass
class Receiver:
    """What a test collector got: one entry per accepted request, and the status plan."""

    url: str
    accepted: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    refused: int = 0
    plan: list[int] = field(default_factory=list)  # statuses to answer first, then 200

    def bodies(self) -> list[bytes]:
        """Each accepted body, un-gzipped."""
        import gzip

        return [
            gzip.decompress(body) if headers.get("Content-Encoding") == "gzip" else body
            for _, headers, body in self.accepted
        ]

    def otlp_requests(self) -> list[dict[str, Any]]:
        """Each accepted OTLP request, parsed by the official schema when it is protobuf."""
        from google.protobuf import json_format
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
            ExportLogsServiceRequest,
        )

        parsed = []
        for (_, headers, _), body in zip(self.accepted, self.bodies(), strict=True):
            if headers.get("Content-Type") == "application/x-protobuf":
                message = ExportLogsServiceRequest.FromString(body)
                parsed.append(json_format.MessageToDict(message))
            else:
                parsed.append(json.loads(body))
        return parsed

    def otlp_records(self) -> list[dict[str, Any]]:
        records = []
        for request in self.otlp_requests():
            for resource in request["resourceLogs"]:
                for scope in resource["scopeLogs"]:
                    records.extend(scope["logRecords"])
        return records

    def event_ids(self) -> list[int]:
        ids = []
        for rec in self.otlp_records():
            attrs = {a["key"]: a["value"] for a in rec["attributes"]}
            ids.append(int(attrs["nexus.event.id"]["intValue"]))
        return ids


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real HTTP collector on 127.0.0.1 in a thread."""
    state = Receiver(url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                status = state.plan.pop(0) if state.plan else 200
                if status == 200:
                    state.accepted.append((self.path, dict(self.headers), body))
                else:
                    state.refused += 1
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
