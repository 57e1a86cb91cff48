"""Processes in containers, seen from the host, and nexus itself inside a container.

NVML reports host PIDs. From the host, a containerised trainer is an ordinary host process in
another PID namespace: ``NSpid`` in ``/proc/PID/status`` gives its PID inside the container, its
cgroup the container's id, and its files (cwd, open checkpoints, command-line folders) are paths
in the container's mount namespace, read from the host through ``/proc/PID/root``. When nexus
itself runs in a container without the host PID namespace, NVML's PIDs are not visible at all;
:func:`invisible_reason` says so.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

# PROC_PID_INIT_INO (include/linux/proc_ns.h): the initial (host) PID namespace.
_HOST_PID_NS = "pid:[4026531836]"
# docker-<id>.scope, /docker/<id>, cri-containerd-<id>.scope, libpod-<id>.scope, kubepods/.../<id>
_CONTAINER_ID = re.compile(r"(?:docker|containerd|libpod|crio|kubepods)[^\n]*?([0-9a-f]{64})")


@dataclass
class ContainerInfo:
    container_id: str | None  # 12 characters, as `docker ps` shows it
    inner_pid: int | None  # the PID inside the container's own PID namespace


def ns_pids(pid: int) -> list[int]:
    """``NSpid``: the PID in each PID namespace, ours first, the innermost last."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("NSpid:"):
                    return [int(x) for x in line.split()[1:]]
    except (OSError, ValueError):
        pass
    return []


def container_id(pid: int) -> str | None:
    """The container id in ``/proc/PID/cgroup`` (Docker, containerd, Podman, CRI-O, Kubernetes)."""
    try:
        with open(f"/proc/{pid}/cgroup", encoding="utf-8", errors="replace") as fh:
            match = _CONTAINER_ID.search(fh.read())
    except OSError:
        return None
    return match.group(1)[:12] if match else None


def describe(pid: int) -> ContainerInfo:
    pids = ns_pids(pid)
    inner = pids[-1] if len(pids) > 1 else None
    return ContainerInfo(container_id(pid), inner)


def _ns(pid: int | str, kind: str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/{kind}")
    except OSError:
        return None


def other_mount_namespace(pid: int) -> bool:
    theirs, ours = _ns(pid, "mnt"), _ns("self", "mnt")
    return theirs is not None and ours is not None and theirs != ours


def host_path(pid: int, path: str) -> str:
    """``path`` as the process sees it, made readable from here (through ``/proc/PID/root`` when
    the process lives in another mount namespace, as a container does)."""
    if path.startswith("/") and other_mount_namespace(pid):
        return f"/proc/{pid}/root{path}"
    return path


def nexus_in_container() -> bool:
    """True when nexus runs in a PID namespace other than the host's."""
    ours = _ns("self", "pid")
    return ours is not None and ours != _HOST_PID_NS


def invisible_reason() -> str:
    """Why a PID reported by NVML cannot be seen from here."""
    if nexus_in_container():
        return (
            "not visible: nexus runs in a container without the host PID namespace"
            " (run it on the host, or the container with --pid=host)"
        )
    return "not visible here (exited, or in a PID namespace nexus cannot see)"
