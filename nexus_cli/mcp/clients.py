"""``nexus doctor --agents``: what each coding agent on this machine sees of Nexus.

For each client whose configuration folder exists (in the project or the home folder): which
configuration file registers the ``nexus`` MCP server, whether that server starts and lists its
tools (started once with the MCP SDK's own client, as the agents start it), whether Nexus's
hooks are installed, and how many Agent Skills (or commands) it can see. Nothing is written.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexus_cli import config_json, extras
from nexus_cli.errors import NexusError
from nexus_cli.mcp import config_toml
from nexus_cli.mcp.client_files import HOOK_CLIENTS, codex_home
from nexus_cli.paths import opencode_config_dir
from nexus_cli.terminal import escape

REACH_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Client:
    name: str
    folders: tuple[str, ...]  # relative to the project and to the home folder (or `~/`, `$…/`
    # specs): where one exists, the client is detected
    configs: tuple[tuple[str, str, tuple[str, ...]], ...]  # (file, format, path to the servers)
    hooks: tuple[str, ...]  # files that hold its hooks
    skills: tuple[str, ...]  # folders of skills (or commands) it reads


CLIENTS = (
    Client(
        "claude",
        (".claude",),
        (
            (".mcp.json", "json", ("mcpServers",)),
            ("~/.claude.json", "json", ("mcpServers",)),
        ),
        (".claude/settings.json", "~/.claude/settings.json"),
        (".claude/skills", "~/.claude/skills"),
    ),
    Client(
        "codex",
        (".codex", ".agents"),
        (
            (".codex/config.toml", "toml", ("mcp_servers",)),
            ("$CODEX_HOME/config.toml", "toml", ("mcp_servers",)),
        ),
        (".codex/hooks.json", "$CODEX_HOME/hooks.json"),
        (".agents/skills", "~/.agents/skills"),
    ),
    Client(
        "cursor",
        (".cursor",),
        (
            (".cursor/mcp.json", "json", ("mcpServers",)),
            ("~/.cursor/mcp.json", "json", ("mcpServers",)),
        ),
        (),
        (".cursor/skills", ".agents/skills", ".claude/skills", "~/.cursor/skills"),
    ),
    Client(
        "vscode",
        (".vscode", ".github"),
        ((".vscode/mcp.json", "jsonc", ("servers",)),),
        (),
        (".github/skills", ".claude/skills", ".agents/skills", "~/.copilot/skills"),
    ),
    Client(
        "gemini",
        (".gemini",),
        (
            (".gemini/settings.json", "json", ("mcpServers",)),
            ("~/.gemini/settings.json", "json", ("mcpServers",)),
        ),
        (),
        (".gemini/commands", "~/.gemini/commands"),
    ),
    Client(
        "opencode",
        (".opencode", "opencode.json", "opencode.jsonc", "$OPENCODE/"),
        (
            ("opencode.json", "jsonc", ("mcp",)),
            ("opencode.jsonc", "jsonc", ("mcp",)),
            ("$OPENCODE/opencode.json", "jsonc", ("mcp",)),
            ("$OPENCODE/opencode.jsonc", "jsonc", ("mcp",)),
        ),
        (),
        (
            ".opencode/skills",
            ".claude/skills",
            ".agents/skills",
            "$OPENCODE/skills",
            "~/.claude/skills",
            "~/.agents/skills",
        ),
    ),
)


@dataclass
class ClientReport:
    client: str
    config: list[str] = field(default_factory=list)  # files that register `nexus`
    mcp_registered: bool = False
    mcp_reachable: bool | None = None  # None: not registered, or the MCP SDK is missing
    tools: int | None = None
    hooks_installed: bool | None = None  # None: the client has no hooks Nexus installs
    skills: int = 0
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _resolve(spec: str, root: Path, home: Path) -> Path:
    if spec.startswith("~/"):
        return home / spec[2:]
    if spec.startswith("$OPENCODE/"):
        return opencode_config_dir() / spec.removeprefix("$OPENCODE/")
    if spec.startswith("$CODEX_HOME/"):
        try:
            return codex_home() / spec.removeprefix("$CODEX_HOME/")
        except NexusError:
            return home / ".codex" / spec.removeprefix("$CODEX_HOME/")
    return root / spec


def _read(path: Path, fmt: str, report: ClientReport) -> dict[str, Any] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        report.problems.append(f"{path}: cannot read it ({exc})")
        return None
    try:
        if fmt == "toml":
            return config_toml.parse(text, str(path))
        return config_json.parse(text, str(path), jsonc=fmt == "jsonc")
    except NexusError as exc:
        report.problems.append(exc.message)
        return None


def _holder(data: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None  # type: ignore[assignment]
    return data


def _has_nexus_hooks(data: dict[str, Any] | None) -> bool:
    hooks = data.get("hooks") if isinstance(data, dict) else None
    if not isinstance(hooks, dict):
        return False
    text = repr(hooks.get("Stop"))
    return "nexus hook stop" in text


def _skills(folder: Path) -> int:
    try:
        entries = list(folder.iterdir())
    except OSError:
        return 0
    return sum(
        1 for e in entries if (e / "SKILL.md").is_file() or (e.suffix == ".toml" and e.is_file())
    )


def check(
    root: Path | None,
    home: Path,
    reach: Callable[[dict[str, Any]], int] | None,
) -> list[ClientReport]:
    """A report for each detected client. ``reach`` starts an MCP server entry and returns how
    many tools it lists (None: the MCP SDK is missing, so reachability is not checked)."""
    base = root or home
    reports = []
    reached: dict[str, int | str] = {}
    for client in CLIENTS:
        places = [
            place
            for f in client.folders
            for place in (
                [_resolve(f, base, home)] if f.startswith(("~/", "$")) else [home / f, base / f]
            )
        ]
        if not any(p.exists() for p in places):
            continue
        report = ClientReport(client.name)
        entry: dict[str, Any] | None = None
        for spec, fmt, path in client.configs:
            file = _resolve(spec, base, home)
            data = _read(file, fmt, report)
            servers = _holder(data, path) if data is not None else None
            if isinstance(servers, dict) and isinstance(servers.get("nexus"), dict):
                report.config.append(str(file))
                entry = entry or servers["nexus"]
        report.mcp_registered = entry is not None
        if entry is not None and (entry.get("enabled") is False or entry.get("disabled") is True):
            report.problems.append("the `nexus` server is registered but disabled")
        if entry is not None and reach is not None and not runs_nexus(entry):
            # the repository's config chose that command: it is named, never started
            report.problems.append(
                f"the `nexus` entry runs {escape(_shown_command(entry)[:120], newlines=False)}, "
                "not `nexus mcp`: the doctor starts only Nexus's own server"
            )
        elif entry is not None and reach is not None:
            key = repr(sorted(entry.items()))
            if key not in reached:
                try:
                    reached[key] = reach(entry)
                except Exception as exc:  # any failure to start is the answer
                    reached[key] = f"{type(exc).__name__}: {exc}"
            result = reached[key]
            report.mcp_reachable = isinstance(result, int)
            if isinstance(result, int):
                report.tools = result
            else:
                report.problems.append(f"`nexus mcp` did not answer: {result}")
        if client.name in HOOK_CLIENTS:
            files = [_resolve(spec, base, home) for spec in client.hooks]
            report.hooks_installed = any(_has_nexus_hooks(_read(f, "json", report)) for f in files)
        seen = {_resolve(spec, base, home) for spec in client.skills}
        report.skills = sum(_skills(folder) for folder in seen)
        reports.append(report)
    return reports


def _argv(entry: dict[str, Any]) -> tuple[Any, list[Any]]:
    command = entry.get("command")
    args = entry.get("args") or []
    if isinstance(command, list) and command:  # OpenCode: one array, program and arguments
        command, args = command[0], command[1:]
    return command, list(args) if isinstance(args, list) else [args]


def _shown_command(entry: dict[str, Any]) -> str:
    command, args = _argv(entry)
    return " ".join(str(word) for word in [command, *args])


def runs_nexus(entry: dict[str, Any]) -> bool:
    """Whether a config's ``nexus`` entry starts Nexus's own MCP server (``nexus mcp``, the
    ``nexus`` on your PATH or this installation's): a repository's config file names any
    command it likes, and the doctor runs nothing a person did not choose."""
    command, args = _argv(entry)
    if args != ["mcp"] or not isinstance(command, str):
        return False
    if command == "nexus":
        return True
    mine = {shutil.which("nexus"), str(Path(sys.executable).with_name("nexus"))}
    return os.path.isabs(command) and any(
        m is not None and os.path.realpath(m) == os.path.realpath(command) for m in mine
    )


def list_tools(entry: dict[str, Any], cwd: Path) -> int:
    """Start the server ``entry`` describes (``command``, ``args``; or OpenCode's ``command``
    array) in ``cwd`` with the MCP SDK's stdio client, as an agent does, and count the tools it
    lists."""
    from mcp.client import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    command, args = _argv(entry)
    if not isinstance(command, str) or not all(isinstance(a, str) for a in args):
        raise ValueError("the entry has no command to run")
    params = StdioServerParameters(command=command, args=args, cwd=str(cwd), env=dict(os.environ))

    async def count() -> int:
        with open(os.devnull, "w") as errlog:
            async with (
                stdio_client(params, errlog=errlog) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                return len((await session.list_tools()).tools)

    return asyncio.run(asyncio.wait_for(count(), REACH_TIMEOUT_S))


def reacher(cwd: Path) -> Callable[[dict[str, Any]], int] | None:
    """:func:`list_tools` in ``cwd``, or None without the MCP SDK."""
    if not extras.installed("mcp"):
        return None
    return lambda entry: list_tools(entry, cwd)
