"""What a Compose service's container may use of the machine: ``deploy.resources.limits``
(``cpus``, ``memory``, ``pids``) and ``deploy.resources.reservations.memory``, the service keys
that say the same in Compose's older spelling (``cpus``, ``mem_limit``, ``pids_limit``,
``mem_reservation``), and ``cpu_shares``.

Each only narrows what the container may take (a repository never weakens a default that
protects the user): a pids limit is a positive number (an unlimited one would lift the engine's
own default), and ``cpu_shares`` at most the engine's 1024 (a file may lower its container's
weight against your other containers, not raise it). A limit given in both spellings must be
the same, as Compose requires.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nexus_cli.workspaces.compose_context import Context
from nexus_cli.workspaces.service_parsing import fail, parse_size

DEFAULT_CPU_SHARES = 1024  # the engine's weight of a container
MIN_MEMORY = 6 * (1 << 20)  # the engine's smallest memory limit


@dataclass(frozen=True, slots=True)
class Resources:
    nano_cpus: int | None = None
    mem_limit: int | None = None  # bytes
    mem_reservation: int | None = None  # bytes: a soft limit, kept to when memory is short
    cpu_shares: int | None = None
    pids_limit: int | None = None


def parse(spec: dict[str, Any], ctx: Context, key: str) -> Resources:
    """The resources of the Compose service ``spec`` (at ``key``)."""
    where = f"{key}.deploy.resources"
    resources = _mapping(
        _mapping(spec.get("deploy"), ctx, f"{key}.deploy").get("resources"), ctx, where
    )
    limits = _mapping(resources.get("limits"), ctx, f"{where}.limits")
    reserved = _mapping(resources.get("reservations"), ctx, f"{where}.reservations")
    mem_limit = _same(
        ctx,
        (_memory(limits.get("memory"), ctx, f"{where}.limits.memory"), f"{where}.limits.memory"),
        (_memory(spec.get("mem_limit"), ctx, f"{key}.mem_limit"), f"{key}.mem_limit"),
    )
    mem_reservation = _same(
        ctx,
        (
            _memory(reserved.get("memory"), ctx, f"{where}.reservations.memory"),
            f"{where}.reservations.memory",
        ),
        (
            _memory(spec.get("mem_reservation"), ctx, f"{key}.mem_reservation"),
            f"{key}.mem_reservation",
        ),
    )
    if mem_limit is not None and mem_reservation is not None and mem_reservation > mem_limit:
        raise fail(ctx.path, f"{key}.mem_reservation", "at most the memory limit")
    return Resources(
        nano_cpus=_same(
            ctx,
            (_cpus(limits.get("cpus"), ctx, f"{where}.limits.cpus"), f"{where}.limits.cpus"),
            (_cpus(spec.get("cpus"), ctx, f"{key}.cpus"), f"{key}.cpus"),
        ),
        mem_limit=mem_limit,
        mem_reservation=mem_reservation,
        cpu_shares=_shares(spec.get("cpu_shares"), ctx, f"{key}.cpu_shares"),
        pids_limit=_same(
            ctx,
            (_pids(limits.get("pids"), ctx, f"{where}.limits.pids"), f"{where}.limits.pids"),
            (_pids(spec.get("pids_limit"), ctx, f"{key}.pids_limit"), f"{key}.pids_limit"),
        ),
    )


def _same(ctx: Context, *spellings: tuple[int | None, str]) -> int | None:
    """The one value the spellings of a setting give; two that differ are an error."""
    given = [(value, key) for value, key in spellings if value is not None]
    if len({value for value, _ in given}) > 1:
        (_, first), (_, second) = given[:2]
        raise fail(ctx.path, second, f"the same value as {first} (or only one of them)")
    return given[0][0] if given else None


def _mapping(value: Any, ctx: Context, key: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise fail(ctx.path, key, "a mapping")
    return value


def _cpus(value: Any, ctx: Context, key: str) -> int | None:
    if value is None:
        return None
    try:
        cpus = float(value)
    except (TypeError, ValueError):
        cpus = 0.0
    if isinstance(value, bool) or not 0 < cpus <= 1024:
        raise fail(ctx.path, key, "a number of CPUs such as 0.5 or 2")
    return int(cpus * 1_000_000_000)


def _memory(value: Any, ctx: Context, key: str) -> int | None:
    if value is None:
        return None
    size = parse_size(value, ctx.path, key)
    if size < MIN_MEMORY:
        raise fail(ctx.path, key, "at least 6m")
    return size


def _shares(value: Any, ctx: Context, key: str) -> int | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 2 <= value <= DEFAULT_CPU_SHARES
    ):
        raise fail(
            ctx.path,
            key,
            f"a weight from 2 to {DEFAULT_CPU_SHARES} (the engine's; a file may not raise its "
            "container over your others)",
        )
    return value


def _pids(value: Any, ctx: Context, key: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 4_194_304:
        raise fail(
            ctx.path,
            key,
            "a positive number of processes (unlimited is refused: it would lift the engine's own limit)",
        )
    return value
