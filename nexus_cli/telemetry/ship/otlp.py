"""Encoding events for collectors: OTLP/HTTP log records (protobuf or JSON), or NDJSON batches.

Attribute names follow the OpenTelemetry semantic conventions where one exists
(``session.id``, ``process.exit.code``, ``error.type``, ``service.name``/``service.version``);
the rest are ``nexus.*``. An event's ``raw_data`` (its metrics: step timings, counts) becomes
structured ``nexus.data.*`` attributes, not a JSON string. ``observedTimeUnixNano`` is the time
the batch is encoded for sending; ``timeUnixNano`` is when the command ran.

Protobuf needs the optional ``opentelemetry-proto`` package (``pip install 'nexus-cli[otlp]'``),
imported only when a protobuf batch is encoded.
"""

from __future__ import annotations

import calendar
import time
from typing import Any

from nexus_cli import __version__, jsonio
from nexus_cli.errors import UsageError
from nexus_cli.extras import missing_hint
from nexus_cli.telemetry.ship.export import portable

SCOPE = "nexus_cli.telemetry"
SEVERITY = {True: (9, "INFO"), False: (17, "ERROR")}


def _nanos(timestamp: str) -> str:
    whole, _, fraction = timestamp.partition(".")
    seconds = calendar.timegm(time.strptime(whole, "%Y-%m-%d %H:%M:%S"))
    return str(seconds * 1_000_000_000 + int((fraction or "0").ljust(3, "0")[:3]) * 1_000_000)


ENCODINGS = ("protobuf", "json")
CONTENT_TYPES = {"protobuf": "application/x-protobuf", "json": "application/json"}


def _value(value: Any) -> dict[str, Any]:
    """An OTLP ``AnyValue`` in its JSON form (int64 as a string, as OTLP/JSON wants)."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list | tuple):
        return {"arrayValue": {"values": [_value(v) for v in value if v is not None]}}
    if isinstance(value, dict):
        return {
            "kvlistValue": {"values": [_attr(str(k), v) for k, v in value.items() if v is not None]}
        }
    return {"stringValue": str(value)}


def _attr(key: str, value: Any) -> dict[str, Any]:
    return {"key": key, "value": _value(value)}


def _data_attributes(raw: Any) -> list[dict[str, Any]]:
    """``raw_data`` (a JSON object, or its text) as ``nexus.data.<key>`` attributes."""
    if isinstance(raw, str):
        try:
            raw = jsonio.loads(raw)
        except ValueError:
            return [_attr("nexus.data", raw)]
    if isinstance(raw, dict):
        return [_attr(f"nexus.data.{k}", v) for k, v in raw.items() if v is not None]
    return [] if raw is None else [_attr("nexus.data", raw)]


_OPTIONAL = (
    ("nexus.workspace.hash", "workspace_hash"),
    ("nexus.task.hash", "task_hash"),
    ("nexus.template", "template_used"),
    ("nexus.services.count", "services_count"),
    ("nexus.ports.count", "ports_used"),
)


def log_record(event: dict[str, Any], observed: int | None = None) -> dict[str, Any]:
    """One event as an OTLP LogRecord, with OpenTelemetry semantic attribute names."""
    ok = bool(event["success"])
    number, text = SEVERITY[ok]
    command = event["command"] or ""
    attributes = [
        _attr("session.id", event["session_id"]),
        _attr("process.exit.code", int(event["exit_code"] or 0)),
        _attr("nexus.event.id", int(event["id"])),
        _attr("nexus.event.type", event["event_type"]),
        _attr("nexus.command", command),
        _attr("nexus.command.group", command.split(" ", 1)[0]),
        _attr("nexus.duration_ms", int(event["duration_ms"] or 0)),
    ]
    if not ok:
        attributes.append(_attr("error.type", event["error_category"] or "error"))
    attributes += [_attr(key, event[col]) for key, col in _OPTIONAL if event.get(col) is not None]
    attributes += _data_attributes(event.get("raw_data"))
    return {
        "timeUnixNano": _nanos(event["timestamp"]),
        "observedTimeUnixNano": str(observed if observed is not None else time.time_ns()),
        "severityNumber": number,
        "severityText": text,
        "body": {"stringValue": f"nexus {event['command'] or ''}".strip()},
        "attributes": attributes,
    }


def logs_request(events: list[dict[str, Any]]) -> dict[str, Any]:
    """An ExportLogsServiceRequest in OTLP/JSON form for POST /v1/logs."""
    observed = time.time_ns()
    resource = [_attr("service.name", "nexus-cli"), _attr("service.version", __version__)]
    body = {
        "resourceLogs": [
            {
                "resource": {"attributes": resource},
                "scopeLogs": [
                    {
                        "scope": {"name": SCOPE, "version": __version__},
                        "logRecords": [log_record(e, observed) for e in events],
                    }
                ],
            }
        ]
    }
    return body


def logs_payload(events: list[dict[str, Any]], encoding: str = "json") -> bytes:
    """The ExportLogsServiceRequest for ``events``, encoded as ``protobuf`` or ``json``."""
    body = logs_request(events)
    if encoding == "json":
        return jsonio.dumps(body, compact=True, ascii_only=True).encode()
    return protobuf_bytes(body)


def protobuf_bytes(body: dict[str, Any]) -> bytes:
    """``body`` (OTLP/JSON form) as the binary protobuf ``ExportLogsServiceRequest``."""
    try:
        from google.protobuf import json_format
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
            ExportLogsServiceRequest,
        )
    except ImportError:
        raise UsageError(
            "OTLP protobuf encoding needs the opentelemetry-proto package",
            hint=f"{missing_hint('otlp')}, or use --encoding json",
        ) from None
    message = json_format.ParseDict(body, ExportLogsServiceRequest())
    return bytes(message.SerializeToString())


def ndjson_payload(events: list[dict[str, Any]]) -> bytes:
    """One event per line, as ``nexus export`` writes it (RFC 3339 time, ``raw_data`` an object)."""
    lines = (
        jsonio.dumps(portable("events", e), compact=True, ascii_only=True) + "\n" for e in events
    )
    return "".join(lines).encode()
