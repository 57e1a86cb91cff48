"""Optional extras: whether one is installed, and the command that adds it to *this* Nexus.

``pip install 'nexus-cli[mcp]'`` is the right advice for only one of the ways Nexus gets
installed. :func:`installation` finds out which one ran this process, from where the interpreter
lives (pipx's and uv's tool folders) and from the distribution's ``direct_url.json`` (PEP 610: an
editable checkout or a local folder); pipx and uv also leave a receipt in the venvs they manage
(``pipx_metadata.json``, ``uv-receipt.toml``), and :func:`add_command` names the command for it:

========== ==============================================================
pipx       ``pipx inject nexus-cli 'mcp<3,>=2.3'``
uv tool    ``uv tool install --force '/src/nexus[mcp]'``
checkout   ``.venv/bin/python -m pip install -e '.[mcp]'``
folder     ``python -m pip install '/src/nexus[mcp]'``
index      ``python -m pip install 'nexus-cli[mcp]'``
========== ==============================================================

Every missing-extra hint goes through :func:`missing_hint`. Nothing here imports an extra: whether
one is present is asked of the import system (``find_spec``), which loads nothing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

DISTRIBUTION = "nexus-cli"

# extra -> the module whose presence says it is installed, and what it is for people
EXTRAS: dict[str, tuple[str, str]] = {
    "mcp": ("mcp", "the MCP SDK"),
    "otlp": ("opentelemetry.proto", "the opentelemetry-proto package"),
}


@dataclass(frozen=True)
class Installation:
    """How this Nexus was installed: ``method`` is pipx, uv, editable, local or index."""

    method: str
    python: str  # the interpreter, as a command to type
    source: str | None = None  # the folder (or file) it was installed from, for editable/local
    tool_name: str | None = None  # pipx's or uv's name for the tool (its venv folder)
    editable: bool = False


def installed(extra: str) -> bool:
    """Whether the module that ``extra`` brings can be imported (without importing it)."""
    module = EXTRAS[extra][0]
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def installation() -> Installation:
    """Find out how the running Nexus was installed (never raises)."""
    prefix = Path(sys.prefix)
    python = _python_command(prefix)
    if (prefix / "pipx_metadata.json").is_file() or _under(
        prefix, "PIPX_HOME", "venvs", ("pipx", ".pipx")
    ):
        return Installation("pipx", python, tool_name=prefix.name)
    source, editable = _direct_url()
    if (prefix / "uv-receipt.toml").is_file() or _under(prefix, "UV_TOOL_DIR", None, ("uv",)):
        return Installation("uv", python, source, prefix.name, editable)
    if source is not None:
        return Installation("editable" if editable else "local", python, source, None, editable)
    return Installation("index", python)


def add_command(extra: str, inst: Installation | None = None) -> str:
    """The command line that adds ``extra`` to the installation ``inst`` (default: this one)."""
    inst = inst or installation()
    if inst.method == "pipx":
        packages = " ".join(shlex.quote(r) for r in requirements(extra)) or shlex.quote(extra)
        return f"pipx inject {shlex.quote(inst.tool_name or DISTRIBUTION)} {packages}"
    target = shlex.quote(f"{_shown_source(inst.source)}[{extra}]")
    if inst.method == "uv":
        editable = " --editable" if inst.editable else ""
        return f"uv tool install --force{editable} {target}"
    editable = " -e" if inst.editable else ""
    return f"{inst.python} -m pip install{editable} {target}"


def missing_hint(extra: str) -> str:
    """A hint line for a missing ``extra``: ``"install the MCP SDK with: <command>"``."""
    return f"install {EXTRAS[extra][1]} with: {add_command(extra)}"


def requirements(extra: str) -> list[str]:
    """The requirements ``extra`` adds, from Nexus's own metadata (``["mcp<3,>=2.3"]``)."""
    try:
        lines = metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        return []
    found = []
    for line in lines:
        requirement, _, marker = line.partition(";")
        compact = marker.replace(" ", "").replace("'", '"')
        if f'extra=="{extra}"' in compact:
            found.append(requirement.strip())
    return found


def _under(prefix: Path, env: str, subfolder: str | None, names: tuple[str, ...]) -> bool:
    """Whether ``prefix`` is a tool venv: ``$env[/subfolder]/<tool>`` or ``…/<names>/…/<tool>``."""
    parent = prefix.parent
    configured = os.environ.get(env)
    if configured:
        root = Path(configured) / subfolder if subfolder else Path(configured)
        if parent == root:
            return True
    if subfolder is not None:
        return parent.name == subfolder and parent.parent.name in names
    return parent.name == "tools" and parent.parent.name in names


def _direct_url() -> tuple[str | None, bool]:
    """The local folder (or file) Nexus was installed from and whether editably, per PEP 610."""
    try:
        text = metadata.distribution(DISTRIBUTION).read_text("direct_url.json")
        data = json.loads(text) if text else {}
    except (metadata.PackageNotFoundError, OSError, ValueError):
        return None, False
    url = urlparse(str(data.get("url", "")))
    if url.scheme != "file" or not url.path:
        return None, False
    dir_info = data.get("dir_info")
    editable = isinstance(dir_info, dict) and dir_info.get("editable") is True
    return unquote(url.path), editable


def _python_command(prefix: Path) -> str:
    """``python`` when this interpreter's venv is the active one, else its path (relative when
    it is below the current folder: ``.venv/bin/python``)."""
    active = os.environ.get("VIRTUAL_ENV")
    if active and Path(active) == prefix:
        return "python"
    try:
        return shlex.quote(str(Path(sys.executable).relative_to(Path.cwd())))
    except (ValueError, OSError):
        return shlex.quote(sys.executable)


def _shown_source(source: str | None) -> str:
    if source is None:
        return DISTRIBUTION
    try:
        if Path(source) == Path.cwd():
            return "."
    except OSError:
        pass
    return source
