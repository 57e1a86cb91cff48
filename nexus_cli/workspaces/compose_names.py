"""How a Compose service's container resolves names: ``extra_hosts``, ``dns``, ``dns_search``
and ``dns_opt``, read as ``docker compose`` reads them.

They act only inside the container: ``extra_hosts`` are lines of its own ``/etc/hosts`` (which
its root can write anyway), ``host-gateway`` is the address of the engine's host on the
container's network (which the container reaches already: it is its default route), and the
DNS settings are its resolver's. A DNS server on a loopback address is asked from the
container's own network namespace when the file names it (moby/moby#45000), so it reaches no
resolver of the host's. None of them widens what the container may do to the host.

Each entry is checked before anything is made, so that a value the engine would read otherwise
than the file means (a host name with a separator, an address that is not one) is named in the
file's one error.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from nexus_cli.workspaces.service_parsing import fail

KEYS = frozenset({"extra_hosts", "dns", "dns_search", "dns_opt"})
HOST_GATEWAY = "host-gateway"  # the engine's name for its host's address on the network
# A name in /etc/hosts: letters, digits, '_', '.', '-' (no separator, space or control).
HOST_NAME = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252})\Z")
DOMAIN = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9_-]{1,63}(?<!-))*\.?\Z")
RESOLVER_OPTION = re.compile(r"^[a-z][a-z0-9-]{0,31}(?::[0-9]{1,4})?\Z")  # ndots:2, use-vc
MAX_ENTRIES = 64  # of each key: /etc/hosts lines, servers, domains, options
SEPARATORS = ("=", ":")  # host=ip (Compose's newer spelling) before host:ip


def extra_hosts(value: Any, path: Any, key: str) -> tuple[tuple[str, str], ...]:
    """``extra_hosts`` as (name, address) pairs in the file's order: a list of ``NAME:ADDRESS``
    or ``NAME=ADDRESS`` (several addresses split by ``,``; an IPv6 address may stand in
    brackets), or a mapping of NAME: ADDRESS or NAME: [ADDRESS, ...]. An address is an IP
    address or ``host-gateway``."""
    if value is None:
        return ()
    pairs: list[tuple[str, Any, str]] = []  # (name, address, where)
    if isinstance(value, dict):
        for name, given in value.items():
            where = f"{key}.{name}"
            for address in given if isinstance(given, list) else [given]:
                pairs.append((str(name), address, where))
    elif isinstance(value, list):
        for i, entry in enumerate(value):
            where = f"{key}[{i}]"
            text = entry if isinstance(entry, str) else ""
            cut = next((sep for sep in SEPARATORS if sep in text), "")
            if not cut:
                raise fail(path, where, "NAME:ADDRESS or NAME=ADDRESS")
            name, _, addresses = text.partition(cut)
            pairs += [(name, address, where) for address in addresses.split(",")]
    else:
        raise fail(path, key, "a list of NAME:ADDRESS or a mapping of NAME: ADDRESS")
    if len(pairs) > MAX_ENTRIES:
        raise fail(path, key, f"at most {MAX_ENTRIES} entries")
    result: list[tuple[str, str]] = []
    for name, address, where in pairs:
        if not HOST_NAME.match(name):
            raise fail(path, where, "a host name of letters, digits, '_', '.' or '-'")
        result.append((name, _address(address, path, where)))
    return tuple(result)


def dns_servers(value: Any, path: Any, key: str) -> tuple[str, ...]:
    """``dns``: one IP address or a list of them, the servers the container's resolver asks."""
    return tuple(
        _ip(server, path, where, "an IP address")
        for server, where in _one_or_list(value, path, key)
    )


def search_domains(value: Any, path: Any, key: str) -> tuple[str, ...]:
    """``dns_search``: one domain or a list of them (``.``: none)."""
    found: list[str] = []
    for domain, where in _one_or_list(value, path, key):
        if (
            not isinstance(domain, str)
            or len(domain) > 253
            or not (domain == "." or DOMAIN.match(domain))
        ):
            raise fail(path, where, "a domain name such as corp.example")
        found.append(domain)
    return tuple(found)


def resolver_options(value: Any, path: Any, key: str) -> tuple[str, ...]:
    """``dns_opt``: options of the container's ``resolv.conf`` (``ndots:2``, ``use-vc``)."""
    found: list[str] = []
    for option, where in _one_or_list(value, path, key, one=False):
        if not isinstance(option, str) or not RESOLVER_OPTION.match(option):
            raise fail(path, where, "a resolver option such as ndots:2 or use-vc")
        found.append(option)
    return tuple(found)


def _one_or_list(value: Any, path: Any, key: str, one: bool = True) -> list[tuple[Any, str]]:
    """Each entry of ``value`` and where it is: a list, or (with ``one``) a single value."""
    if value is None:
        return []
    if isinstance(value, list):
        if len(value) > MAX_ENTRIES:
            raise fail(path, key, f"at most {MAX_ENTRIES} entries")
        return [(entry, f"{key}[{i}]") for i, entry in enumerate(value)]
    if one and not isinstance(value, dict):
        return [(value, key)]
    raise fail(path, key, "a value or a list of them" if one else "a list")


def _address(value: Any, path: Any, key: str) -> str:
    if value == HOST_GATEWAY:
        return HOST_GATEWAY
    text = value if isinstance(value, str) else ""
    if len(text) > 2 and text[0] == "[" and text[-1] == "]":  # [::1], as Compose reads it
        text = text[1:-1]
    return _ip(text, path, key, f"an IP address or {HOST_GATEWAY}")


def _ip(value: Any, path: Any, key: str, expected: str) -> str:
    try:
        return str(ipaddress.ip_address(value if isinstance(value, str) else ""))
    except ValueError:
        raise fail(path, key, expected) from None
