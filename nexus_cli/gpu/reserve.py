"""Picking free GPUs, and local reservations so two `nexus gpu wait` never take the same one.

A device is **free** when it is not reserved by a live owner and NVML lists no process on it;
with ``min_memory`` it is free when at least that much of its memory is unused (processes
allowed). The best devices come first: most unused memory, then lowest utilisation, then index.
A MIG-enabled GPU's slices are the devices (the parent is left out, as in attribution).

A reservation is a file per device under ``$NEXUS_HOME/gpu/reservations/`` holding its owner:
PID, that process's start time and a random token. Claims and releases happen under one lock
(:func:`nexus_cli.fs.locked`), so two claims never interleave. An owner whose PID is gone, or now
belongs to a process started at another time, is stale: the next claim takes the device over.
Only the owner's token removes its file.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from nexus_cli import fs, jsonio, paths
from nexus_cli.gpu import procinfo
from nexus_cli.gpu.model import GpuReading, NvmlSession, attribution_devices

GIB = 1024**3


@dataclass(frozen=True)
class Owner:
    pid: int
    create_time: float
    token: str
    since: float  # epoch seconds

    @classmethod
    def me(cls) -> Owner:
        import psutil

        return cls(os.getpid(), psutil.Process().create_time(), secrets.token_hex(8), time.time())

    def alive(self) -> bool:
        return procinfo.is_running(self.pid, self.create_time)


@dataclass
class Device:
    index: str
    uuid: str
    name: str | None
    memory_free: int | None
    utilization_pct: int | None
    processes: int
    reserved_by: int | None  # the PID of a live owner, else None
    free: bool


def folder() -> Path:
    path = paths.nexus_home() / "gpu" / "reservations"
    paths.ensure_private_dir(path)
    return path


def _file(uuid: str) -> Path:
    # UUIDs come from the driver: hashed into a fixed, safe file name.
    return folder() / (hashlib.sha256(uuid.encode()).hexdigest()[:24] + ".json")


def holder(uuid: str) -> Owner | None:
    """The live owner of ``uuid``'s reservation; None when free or stale (or unreadable)."""
    try:
        data = jsonio.loads(_file(uuid).read_text(encoding="utf-8"))
        owner = Owner(
            int(data["pid"]), float(data["create_time"]), str(data["token"]), float(data["since"])
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return owner if owner.alive() else None


@contextmanager
def _locked() -> Iterator[None]:
    with fs.locked(folder() / ".lock"):
        yield


def claim(uuids: list[str], owner: Owner) -> bool:
    """Reserve every one of ``uuids`` for ``owner``, or none (another live owner holds one)."""
    with _locked():
        for uuid in uuids:
            current = holder(uuid)
            if current is not None and current.token != owner.token:
                return False
        for uuid in uuids:
            fs.atomic_write(_file(uuid), jsonio.dumps({**asdict(owner), "uuid": uuid}), mode=0o600)
    return True


def release(uuids: list[str], owner: Owner) -> None:
    """Remove ``owner``'s reservations (never another owner's)."""
    with _locked():
        for uuid in uuids:
            path = _file(uuid)
            try:
                token = jsonio.loads(path.read_text(encoding="utf-8")).get("token")
            except (OSError, ValueError, AttributeError):
                continue
            if token == owner.token:
                path.unlink(missing_ok=True)


def _device(dev: GpuReading, session: NvmlSession, min_memory: int | None) -> Device | None:
    if dev.uuid is None:
        return None  # CUDA_VISIBLE_DEVICES needs it
    procs = session.read_processes(dev.index)
    unused = (
        None
        if dev.memory_total is None or dev.memory_used is None
        else dev.memory_total - dev.memory_used
    )
    fits = not procs if min_memory is None else unused is not None and unused >= min_memory
    owner = holder(dev.uuid)
    return Device(
        dev.index,
        dev.uuid,
        dev.name,
        unused,
        dev.utilization_pct,
        len(procs),
        None if owner is None else owner.pid,
        fits and owner is None,
    )


def devices(session: NvmlSession, min_memory: int | None = None) -> list[Device]:
    """Every device, the free ones first, best first."""
    found = [_device(d, session, min_memory) for d in attribution_devices(session.read_devices())]
    return sorted(
        (d for d in found if d is not None),
        key=lambda d: (
            not d.free,
            -(d.memory_free or 0),
            d.utilization_pct if d.utilization_pct is not None else 101,
            d.index,
        ),
    )


def pick(session: NvmlSession, count: int, min_memory: int | None = None) -> list[Device]:
    """The ``count`` best free devices, or fewer when fewer are free."""
    return [d for d in devices(session, min_memory) if d.free][:count]


def wait_and_claim(
    session: NvmlSession,
    count: int,
    owner: Owner,
    *,
    min_memory: int | None,
    timeout_s: float | None,
    interval_s: float,
    on_wait: object = None,
) -> list[Device] | None:
    """Poll until ``count`` devices are free and claimed for ``owner``; None at the timeout."""
    end = None if timeout_s is None else time.monotonic() + timeout_s
    told = False
    while True:
        chosen = pick(session, count, min_memory)
        if len(chosen) == count and claim([d.uuid for d in chosen], owner):
            return chosen
        if not told and callable(on_wait):
            on_wait(len(chosen))
            told = True
        if end is not None and time.monotonic() >= end:
            return None
        time.sleep(interval_s)
