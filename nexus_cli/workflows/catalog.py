"""Where workflows come from: the project's ``.nexus/workflows/`` first, then the shipped ones."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from nexus_cli import safe_path, validate
from nexus_cli.errors import ConfigError, NexusError, NotFoundError
from nexus_cli.resources import data_dir
from nexus_cli.suggest import did_you_mean
from nexus_cli.workflows.schema import Workflow, parse

MAX_FILE_BYTES = 256 * 1024


@dataclass(frozen=True)
class Source:
    name: str
    origin: str  # "project" or "builtin"
    path: Path


def folders(project_root: Path | None) -> list[tuple[str, Path]]:
    """Folders searched, highest priority first."""
    found: list[tuple[str, Path]] = []
    if project_root is not None:
        found.append(("project", project_root / ".nexus" / "workflows"))
    found.append(("builtin", data_dir("workflows")))
    return found


def sources(project_root: Path | None) -> list[Source]:
    """Every visible workflow (a project file hides a shipped one of the same name), by name.

    The project's folder is opened below its root without following a link (docs/security.md,
    Rule 1): a ``.nexus/workflows`` that is a link fails the command, and a file that is a link
    is listed, to fail when it is read (:func:`read`)."""
    seen: dict[str, Source] = {}
    for origin, folder in folders(project_root):
        names = (
            _yaml_files(project_root, folder)
            if origin == "project" and project_root is not None
            else _shipped(folder)
        )
        for name in names:
            stem = name.removesuffix(".yaml")
            if validate.is_valid(validate.workflow_name, stem):
                seen.setdefault(stem, Source(stem, origin, folder / name))
    return [seen[name] for name in sorted(seen)]


def _shipped(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.yaml") if p.is_file())


def _yaml_files(root: Path, folder: Path) -> list[str]:
    """The ``*.yaml`` names in the project's workflow folder that are files or links."""
    try:
        with safe_path.open_dir(root, folder.relative_to(root)) as fd:
            names = sorted(n for n in os.listdir(fd) if n.endswith(".yaml"))
            return [n for n in names if _file_or_link(fd, n)]
    except FileNotFoundError:
        return []


def _file_or_link(dir_fd: int, name: str) -> bool:
    try:
        mode = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
    except OSError:
        return False
    return stat.S_ISREG(mode) or stat.S_ISLNK(mode)


def read(source: Source) -> Workflow:
    try:
        if source.origin == "project":  # repository content: opened without following a link
            root = source.path.parents[2]  # <root>/.nexus/workflows/NAME.yaml
            rel = source.path.relative_to(root)
            fd = safe_path.open_file(root, rel, os.O_RDONLY | os.O_NONBLOCK)
        else:
            fd = os.open(source.path, os.O_RDONLY)
        data = _read_limited(fd, source.path)
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source.path}: cannot read workflow file ({exc})") from None
    return parse(source.path, text, source.origin)


def _read_limited(fd: int, path: Path) -> bytes:
    """The bytes of the open file ``fd`` (closed); a ConfigError when it is not a regular file
    of at most :data:`MAX_FILE_BYTES` bytes."""
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"{path}: a workflow must be a regular file")
        if info.st_size > MAX_FILE_BYTES:
            raise ConfigError(f"{path}: workflow file is larger than {MAX_FILE_BYTES} bytes")
        return fh.read(MAX_FILE_BYTES + 1)


def load(name: str, project_root: Path | None) -> Workflow:
    """The workflow ``name`` (validated as typed on the command line)."""
    validate.workflow_name(name)
    found = sources(project_root)
    for source in found:
        if source.name == name:
            return read(source)
    raise NotFoundError(
        f"no workflow named {name!r}",
        hint=did_you_mean(name, [source.name for source in found])
        or "`nexus workflow list` shows the available workflows",
    )


def incident_names(project_root: Path | None) -> set[str]:
    """The visible workflows whose file says ``kind: incident``. A file that does not parse is
    left out (its own commands report it): figures never fail over one broken workflow."""
    names = set()
    for source in sources(project_root):
        try:
            flow = read(source)
        except NexusError:
            continue
        if flow.kind == "incident":
            names.add(flow.name)
    return names
