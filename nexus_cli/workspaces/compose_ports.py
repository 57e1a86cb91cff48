"""A Compose service's ``ports``: short forms, ranges and the long form, each on a loopback host
address at most (the host interface is the user's to widen, never the file's)."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from nexus_cli.workspaces.compose_context import Context
from nexus_cli.workspaces.service_model import PortSpec
from nexus_cli.workspaces.service_parsing import fail, parse_port

# HOST_FIRST-HOST_LAST:FIRST-LAST or FIRST-LAST, then /tcp or /udp
PORT_RANGE = re.compile(r"^(?:(\d{1,5})-(\d{1,5}):)?(\d{1,5})-(\d{1,5})(/(?:tcp|udp))?\Z")
MAX_PORT_RANGE = 100  # ports one range entry may publish (each gets a host port of its own)


def ports(value: Any, ctx: Context, key: str) -> list[PortSpec]:
    """One entry's ports: a range (``8000-8002:9000-9002``, ``8000-8002``, with a loopback
    address or a protocol) is one port per number, as Compose publishes it."""
    if not isinstance(value, str):
        return [_port(value, ctx, key)]
    rest = _without_address(value, ctx, key)
    match = PORT_RANGE.match(rest)
    if match is None:
        return [parse_port(rest, ctx.path, key)]
    first_host, last_host, first, last, protocol = match.groups()
    containers = range(int(first), int(last) + 1)
    hosts = containers if first_host is None else range(int(first_host), int(last_host) + 1)
    if not containers or len(hosts) != len(containers) or len(containers) > MAX_PORT_RANGE:
        raise fail(
            ctx.path, key, f"ranges of one length, low to high, of at most {MAX_PORT_RANGE} ports"
        )
    return [
        parse_port(f"{host}:{port}{protocol or ''}", ctx.path, key)
        for host, port in zip(hosts, containers, strict=True)
    ]


def _port(value: Any, ctx: Context, key: str) -> PortSpec:
    """A port in the long form or a number; its host address, if any, must be a loopback one and
    is dropped: ports bind to 127.0.0.1 unless *you* widen that (``--bind-all``), never the
    file."""
    if isinstance(value, dict):
        value = dict(value)
        _loopback(str(value.pop("host_ip", "127.0.0.1")), ctx, key)
        if value.pop("mode", "host") != "host":  # what a single engine does; ingress is swarm's
            raise fail(ctx.path, f"{key}.mode", "host (ingress is Swarm's load-balanced mode)")
        for label in ("name", "app_protocol"):  # what the port is for: names only
            if not isinstance(value.pop(label, ""), str):
                raise fail(ctx.path, f"{key}.{label}", "text")
    elif isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return parse_port(value, ctx.path, key)


def _without_address(text: str, ctx: Context, key: str) -> str:
    """``text`` without its host address, which must be a loopback one (``127.0.0.1:8080:80``,
    ``[::1]:8080:80``); ``127.0.0.1::80`` leaves ``80`` (any host port)."""
    if text.startswith("["):
        address, found, rest = text[1:].partition("]:")
        if not found:
            return text  # not a port: parse_port says what is expected
    elif text.count(":") == 2:
        address, _, rest = text.partition(":")
    else:
        return text
    _loopback(address, ctx, key)
    return rest.removeprefix(":")


def _loopback(address: str, ctx: Context, key: str) -> None:
    try:
        ok = address == "localhost" or ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        ok = False
    if not ok:
        raise fail(
            ctx.path,
            key,
            f"no host address or a loopback one, not {address!r} (a repository cannot publish "
            "ports beyond this machine: pass --bind-all yourself)",
        )
