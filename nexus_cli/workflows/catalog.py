"""Where workflows come from: the project's ``.nexus/workflows/`` first, then the shipped ones."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nexus_cli import fs, validate
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
    """Every visible workflow (a project file hides a shipped one of the same name), by name."""
    seen: dict[str, Source] = {}
    for origin, folder in folders(project_root):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.yaml")):
            if validate.is_valid(validate.workflow_name, path.stem) and path.is_file():
                seen.setdefault(path.stem, Source(path.stem, origin, path))
    return [seen[name] for name in sorted(seen)]


def read(source: Source) -> Workflow:
    if source.origin == "project":  # repository content: a committed link out is never read
        root = source.path.parents[2]  # <root>/.nexus/workflows/NAME.yaml
        try:
            fs.resolve_inside(root, source.path.relative_to(root), what="workflow")
        except fs.PathEscapeError as exc:
            raise ConfigError(
                exc.message, hint="a project's workflows must be files inside it, not links out"
            ) from None
    try:
        size = source.path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ConfigError(f"{source.path}: workflow file is larger than {MAX_FILE_BYTES} bytes")
        text = source.path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source.path}: cannot read workflow file ({exc})") from None
    return parse(source.path, text, source.origin)


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
