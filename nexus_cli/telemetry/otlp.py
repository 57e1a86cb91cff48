"""Encoding events for collectors: OTLP/HTTP JSON log records, or NDJSON batches."""

from __future__ import annotations

import calendar
import json
import time
from typing import Any

from nexus_cli import __version__

SCOPE = "nexus_cli.telemetry"
SEVERITY = {True: (9, "INFO"), False: (17, "ERROR")}


def _nanos(timestamp: str) -> str:
    whole, _, fraction = timestamp.partition(".")
    seconds = calendar.timegm(time.strptime(whole, "%Y-%m-%d %H:%M:%S"))
    return str(seconds * 1_000_000_000 + int((fraction or "0").ljust(3, "0")[:3]) * 1_000_000)


def _attr(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}  # OTLP JSON: int64 as a string
    return {"key": key, "value": {"stringValue": str(value)}}


_OPTIONAL = (
    ("nexus.workspace.hash", "workspace_hash"),
    ("nexus.task.hash", "task_hash"),
    ("nexus.template", "template_used"),
    ("nexus.services.count", "services_count"),
    ("nexus.ports.count", "ports_used"),
    ("nexus.raw_data", "raw_data"),
)


def log_record(event: dict[str, Any]) -> dict[str, Any]:
    """One event as an OTLP LogRecord, with OpenTelemetry semantic attribute names."""
    ok = bool(event["success"])
    number, text = SEVERITY[ok]
    attributes = [
        _attr("session.id", event["session_id"]),
        _attr("process.exit.code", int(event["exit_code"] or 0)),
        _attr("nexus.event.id", int(event["id"])),
        _attr("nexus.event.type", event["event_type"]),
        _attr("nexus.command", event["command"] or ""),
        _attr("nexus.duration_ms", int(event["duration_ms"] or 0)),
    ]
    if not ok:
        attributes.append(_attr("error.type", event["error_category"] or "error"))
    attributes += [_attr(key, event[col]) for key, col in _OPTIONAL if event.get(col) is not None]
    stamp = _nanos(event["timestamp"])
    return {
        "timeUnixNano": stamp,
        "observedTimeUnixNano": stamp,
        "severityNumber": number,
        "severityText": text,
        "body": {"stringValue": f"nexus {event['command'] or ''}".strip()},
        "attributes": attributes,
    }


def logs_payload(events: list[dict[str, Any]]) -> bytes:
    """An ExportLogsServiceRequest (OTLP/HTTP, JSON encoding) for POST /v1/logs."""
    resource = [_attr("service.name", "nexus-cli"), _attr("service.version", __version__)]
    body = {
        "resourceLogs": [
            {
                "resource": {"attributes": resource},
                "scopeLogs": [
                    {
                        "scope": {"name": SCOPE, "version": __version__},
                        "logRecords": [log_record(e) for e in events],
                    }
                ],
            }
        ]
    }
    return json.dumps(body, separators=(",", ":")).encode()


def ndjson_payload(events: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events).encode()
