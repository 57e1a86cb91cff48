"""A Compose service's tmpfs mounts: ``tmpfs`` (``PATH[:OPTIONS]`` or a list of them) and the
long-form ``volumes`` entries of ``type: tmpfs`` (``tmpfs.size``, ``tmpfs.mode``, ``read_only``),
as one mapping of path -> mount options for the container (:mod:`compose_runtime`)."""

from __future__ import annotations

import re
from typing import Any

from nexus_cli.workspaces.service_parsing import fail, parse_flag

TMPFS_PATH = re.compile(r"^/[A-Za-z0-9._/-]{0,254}\Z")
TMPFS_OPTIONS = re.compile(r"^[A-Za-z0-9=,._-]{0,200}\Z")
TMPFS_SIZE = re.compile(r"^[0-9]{1,15}[kmgKMG]?\Z")  # a type: tmpfs volume's tmpfs.size
TMPFS_MODE = re.compile(r"^[0-7]{1,4}\Z")  # its tmpfs.mode, in octal digits


def _listed(value: Any, path: Any, key: str) -> dict[str, str]:
    """``tmpfs`` as one ``PATH[:OPTIONS]`` or a list of them."""
    entries = [value] if isinstance(value, str) else value
    if entries is None:
        return {}
    if not isinstance(entries, list):
        raise fail(path, key, "a path, or a list of PATH[:OPTIONS]")
    result: dict[str, str] = {}
    for i, entry in enumerate(entries):
        target, _, options = entry.partition(":") if isinstance(entry, str) else ("", "", "")
        if not TMPFS_PATH.match(target) or ".." in target.split("/"):
            raise fail(path, f"{key}[{i}]", "an absolute path in the container")
        if not TMPFS_OPTIONS.match(options):
            raise fail(path, f"{key}[{i}]", "mount options such as size=64m,mode=1777")
        if target in result:
            raise fail(path, f"{key}[{i}]", f"each path once ({target} is repeated)")
        result[target] = options
    return result


def is_volume(entry: Any) -> bool:
    """A long-form ``volumes`` entry of ``type: tmpfs``: a tmpfs of the container (read with
    ``tmpfs:``, :func:`parse`), not a volume."""
    return isinstance(entry, dict) and entry.get("type") == "tmpfs"


def parse(spec: dict[str, Any], path: Any, key: str) -> dict[str, str]:
    """``tmpfs``, and the ``volumes`` of ``type: tmpfs``: each path once."""
    result = _listed(spec.get("tmpfs"), path, f"{key}.tmpfs")
    volumes = spec.get("volumes")
    for i, entry in enumerate(volumes if isinstance(volumes, list) else []):
        if is_volume(entry):
            where = f"{key}.volumes[{i}]"
            target, options = _volume(entry, path, where)
            if target in result:
                raise fail(path, where, f"each path once ({target} is a tmpfs already)")
            result[target] = options
    return result


def _volume(entry: dict[str, Any], path: Any, key: str) -> tuple[str, str]:
    """A ``type: tmpfs`` volume as ``tmpfs`` says it: its ``target``, and options from
    ``tmpfs.size`` (bytes, or with a unit: ``64m``), ``tmpfs.mode`` (a number, as Compose reads
    it: ``0o1777``) and ``read_only``."""
    target = entry.get("target")
    if "source" in entry:
        raise fail(path, f"{key}.source", "no source: a tmpfs is made empty, in memory")
    if not isinstance(target, str) or not TMPFS_PATH.match(target) or ".." in target.split("/"):
        raise fail(path, f"{key}.target", "an absolute path in the container")
    tmpfs = entry.get("tmpfs", {})
    if not isinstance(tmpfs, dict):
        raise fail(path, f"{key}.tmpfs", "a mapping with size and mode")
    options: list[str] = []
    size, mode = tmpfs.get("size"), tmpfs.get("mode")
    if size is not None:
        if isinstance(size, bool) or not TMPFS_SIZE.match(str(size)):
            raise fail(path, f"{key}.tmpfs.size", "bytes, or a size with a unit such as 64m")
        options.append(f"size={size}")
    if mode is not None:  # a number, as Compose reads it: 0o1777 (1777 is decimal: 0o3361)
        digits = (
            format(mode, "o")
            if isinstance(mode, int) and not isinstance(mode, bool)
            else str(mode).removeprefix("0o")
        )
        if isinstance(mode, bool) or not TMPFS_MODE.match(digits):
            raise fail(path, f"{key}.tmpfs.mode", "permission bits as an octal number: 0o1777")
        options.append(f"mode={digits}")
    if parse_flag(entry.get("read_only", False), path, f"{key}.read_only"):
        options.append("ro")
    return target, ",".join(options)
