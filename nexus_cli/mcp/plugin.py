"""``nexus persona export``: personas as Claude Code plugins, and a marketplace of them.

A plugin is a folder with ``.claude-plugin/plugin.json`` (only ``name`` is required) and its parts
at the plugin root: ``agents/`` (the persona as a subagent), ``skills/`` (its commands, the same
renderer as every other skills target), ``hooks/hooks.json`` (Nexus's gate-enforcing hooks) and
``.mcp.json`` (the ``nexus`` MCP server). A marketplace is a folder a team hosts in git with
``.claude-plugin/marketplace.json`` (``name``, ``owner.name``, ``plugins[]`` each with ``name``
and ``source``) and the plugins under ``plugins/``.

A plugin is installed for a person, not into one project, so the persona is rendered as for
``--global``: its project files (``scripts/...``) are not included and rules naming them are
dropped. Permissions have no place in a plugin; each skill keeps its ``allowed-tools``.

The folder is written whole or not at all: everything goes into a temporary folder beside it,
which is renamed into place; an existing folder that is not empty is refused.

Docs (read 2026-12-06): https://code.claude.com/docs/en/plugins-reference (manifest, layout,
``hooks/hooks.json``, ``.mcp.json``), https://code.claude.com/docs/en/plugin-marketplaces
(``marketplace.json``; ``claude plugin validate``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexus_cli import __version__, fs
from nexus_cli.errors import ConflictError, UsageError
from nexus_cli.mcp.client_files import SERVER, hook_entries
from nexus_cli.personas.model import Level, Persona
from nexus_cli.personas.plan import Desired
from nexus_cli.personas.targets.base import Context, emit_skills
from nexus_cli.personas.targets.claude import subagent

KEBAB = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
MANIFEST = ".claude-plugin/plugin.json"
MARKETPLACE = ".claude-plugin/marketplace.json"


@dataclass
class Export:
    """What was written: each plugin's name, folder and files; the marketplace file, if any."""

    plugins: list[dict[str, Any]] = field(default_factory=list)
    marketplace: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"plugins": self.plugins, "marketplace": self.marketplace}


def _json(data: Any) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _readme(ctx: Context, files: list[str]) -> str:
    skills = sorted({Path(rel).parent.name for rel in files if rel.startswith("skills/")})
    lines = [
        f"# {ctx.persona.display_name} (Nexus persona)",
        "",
        ctx.summary,
        "",
        "This Claude Code plugin was written by `nexus persona export`. It holds:",
        "",
        f"- the subagent `{ctx.name}` (`agents/{ctx.name}.md`), with the persona's instructions;",
        *(f"- the skill `/{name}`" for name in skills),
        "- Nexus's hooks (`hooks/hooks.json`): the session starts with the `nexus prime` briefing,"
        " and a turn does not end while the session's Nexus task has a failing or unrun gate;",
        "- the `nexus` MCP server (`.mcp.json`): the project's tasks with their gates.",
        "",
        "The hooks and the server need Nexus (`nexus` on PATH) and a project set up with"
        " `nexus init`; elsewhere the hooks do nothing.",
    ]
    return "\n".join(lines) + "\n"


def plugin_files(
    persona: Persona, level: Level | None, author: str
) -> dict[str, tuple[bytes, int]]:
    """The plugin's files (relative path -> content and mode) for ``persona``."""
    if not KEBAB.fullmatch(persona.name):
        raise UsageError(f"persona name {persona.name!r} is not a plugin name (kebab-case)")
    ctx = Context.make(persona, level, ["claude"], is_global=True)
    want = Desired()
    emit_skills(ctx, want, "skills")
    files = {rel: (state.data, state.mode) for rel, state in want.files.items()}
    files[f"agents/{persona.name}.md"] = (subagent(ctx).encode("utf-8"), 0o644)
    manifest = {
        "name": persona.name,
        "version": __version__,
        "description": ctx.summary,
        "author": {"name": " ".join(author.split()) or "Nexus"},
        "keywords": ["nexus", "persona"],
    }
    files[MANIFEST] = (_json(manifest), 0o644)
    hooks: dict[str, list[Any]] = {}
    for entry in hook_entries("claude"):
        hooks.setdefault(entry["path"][1], []).append(entry["item"])
    files["hooks/hooks.json"] = (_json({"hooks": hooks}), 0o644)
    files[".mcp.json"] = (_json({"mcpServers": {"nexus": SERVER}}), 0o644)
    files["README.md"] = (_readme(ctx, list(files)).encode("utf-8"), 0o644)
    return dict(sorted(files.items()))


def _target(folder: Path) -> Path:
    """``folder`` made absolute; refused when it exists and is not an empty folder."""
    path = Path(os.path.abspath(folder))
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise ConflictError(f"{path} exists and is not a folder; choose a new folder")
    if path.is_dir() and any(path.iterdir()):
        raise ConflictError(
            f"{path} is not empty; Nexus writes a plugin only into a new or empty folder",
            hint="choose a new folder, or remove this one first",
        )
    return path


def _write_whole(path: Path, files: dict[str, tuple[bytes, int]]) -> None:
    """Write ``files`` under a temporary folder beside ``path``, then rename it to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        for rel, (data, mode) in files.items():
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            fs.atomic_write(target, data, mode=mode, fsync=False)
        if path.is_dir():
            path.rmdir()  # empty (checked): the rename takes its place
        staging.chmod(0o755)
        staging.rename(path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def export_plugin(persona: Persona, level: Level | None, folder: Path, *, author: str) -> Export:
    """Write ``persona`` as a Claude Code plugin into ``folder`` (new or empty)."""
    path = _target(folder)
    files = plugin_files(persona, level, author)
    _write_whole(path, files)
    return Export(plugins=[{"name": persona.name, "path": str(path), "files": list(files)}])


def export_marketplace(
    personas: list[tuple[Persona, Level | None]], folder: Path, *, name: str, owner: str
) -> Export:
    """Write a marketplace of ``personas`` into ``folder``: ``.claude-plugin/marketplace.json``
    and each plugin under ``plugins/<persona>/``."""
    if not KEBAB.fullmatch(name):
        raise UsageError(f"marketplace name {name!r} must be kebab-case (a-z, 0-9, -)")
    if not owner.strip():
        raise UsageError("the marketplace needs an owner name (--owner)")
    path = _target(folder)
    files: dict[str, tuple[bytes, int]] = {}
    entries = []
    export = Export(marketplace=str(path / MARKETPLACE))
    for persona, level in personas:
        own = plugin_files(persona, level, owner)
        base = f"plugins/{persona.name}"
        files.update({f"{base}/{rel}": value for rel, value in own.items()})
        description = json.loads(own[MANIFEST][0])["description"]
        entries.append({"name": persona.name, "source": f"./{base}", "description": description})
        export.plugins.append({"name": persona.name, "path": str(path / base), "files": list(own)})
    if len({e["name"] for e in entries}) != len(entries):
        raise UsageError("a persona is named twice")
    marketplace = {
        "name": name,
        "description": "Nexus personas as Claude Code plugins (`nexus persona export`).",
        "owner": {"name": " ".join(owner.split())},
        "plugins": entries,
    }
    files[MARKETPLACE] = (_json(marketplace), 0o644)
    _write_whole(path, files)
    return export


def default_name(folder: Path) -> str:
    """A marketplace name from the folder's name (``Team Tools`` -> ``team-tools``)."""
    words = re.findall(r"[a-z0-9]+", Path(os.path.abspath(folder)).name.lower())
    name = "-".join(words)
    with contextlib.suppress(IndexError):
        if not name[0].isalpha():
            name = "nexus-" + name
    return name or "nexus-personas"
