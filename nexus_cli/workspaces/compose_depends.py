"""A Compose service's ``depends_on`` and ``links``: what it starts after, on which condition,
what restarts it, and the names links give other services."""

from __future__ import annotations

from typing import Any

from nexus_cli.workspaces import compose_runtime
from nexus_cli.workspaces.compose_context import Context
from nexus_cli.workspaces.service_parsing import fail

CONDITIONS = ("service_started", "service_healthy", "service_completed_successfully")


def link_aliases(services: dict[str, Any], ctx: Context) -> dict[str, list[str]]:
    """Service -> the aliases the others' ``links`` (``SERVICE:ALIAS``) give it: names on the
    workspace's one network, as a link's alias is a name of the linked service."""
    found: dict[str, list[str]] = {}
    for name, spec in services.items():
        if isinstance(spec, dict):
            key = f"services.{name}.links"
            for i, (linked, alias) in enumerate(links(spec.get("links"), ctx, key)):
                if alias != linked and alias in services:
                    raise fail(
                        ctx.path, f"{key}[{i}]", f"an alias that is not a service ({alias!r})"
                    )
                if alias != linked and alias not in found.setdefault(linked, []):
                    found[linked].append(alias)
    return found


def links(value: Any, ctx: Context, key: str) -> list[tuple[str, str]]:
    """``links`` (Compose's older way to reach a service and start after it): ``SERVICE`` or
    ``SERVICE:ALIAS``, each a service that runs; (service, alias) pairs."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise fail(ctx.path, key, "a list of SERVICE or SERVICE:ALIAS")
    pairs: list[tuple[str, str]] = []
    for i, entry in enumerate(value):
        linked, _, alias = str(entry).partition(":") if isinstance(entry, str) else ("", "", "")
        if linked not in ctx.active:
            raise fail(ctx.path, f"{key}[{i}]", "SERVICE or SERVICE:ALIAS of a service that runs")
        if alias and not compose_runtime.CONTAINER_NAME.match(alias):
            raise fail(ctx.path, f"{key}[{i}]", "an alias of letters, digits, '_', '.' or '-'")
        pairs.append((linked, alias or linked))
    return pairs


def depends(value: Any, ctx: Context, key: str) -> dict[str, str]:
    """Dependency -> condition; a list means ``service_started``. A dependency left out by the
    selected profiles is an error unless marked ``required: false``."""
    if value is None:
        return {}
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = {v: {} for v in value}
    if not isinstance(value, dict):
        raise fail(ctx.path, key, "a list of service names or a mapping with conditions")
    result: dict[str, str] = {}
    for dep, entry in value.items():
        entry = entry or {}
        if not isinstance(entry, dict):
            raise fail(ctx.path, f"{key}.{dep}", "a mapping with condition (and required)")
        condition = entry.get("condition", "service_started")
        if condition not in CONDITIONS:
            raise fail(ctx.path, f"{key}.{dep}.condition", f"one of {', '.join(CONDITIONS)}")
        if str(dep) not in ctx.active:
            if entry.get("required", True) is False:
                continue
            if str(dep) not in ctx.defined:
                known = ", ".join(sorted(ctx.defined))
                raise fail(ctx.path, f"{key}.{dep}", f"a service of this file ({known})")
            raise fail(ctx.path, f"{key}.{dep}", "a service that runs (select its profile)")
        result[str(dep)] = str(condition)
    return result


def restarts_with(value: Any, conditions: dict[str, str], ctx: Context, key: str) -> frozenset[str]:
    """The dependencies marked ``restart: true`` (that run: :func:`_depends` checked the rest):
    when ``up`` gives one a new container, this service is restarted after it, as Compose does
    when it updates a dependency."""
    found: set[str] = set()
    for dep, entry in value.items() if isinstance(value, dict) else ():
        restart = entry.get("restart", False) if isinstance(entry, dict) else False
        if not isinstance(restart, bool):
            raise fail(ctx.path, f"{key}.{dep}.restart", "true or false")
        if restart and str(dep) in conditions:
            found.add(str(dep))
    return frozenset(found)
