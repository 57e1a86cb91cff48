"""What each coding assistant gets from a persona, in that assistant's own format.

One module per assistant (:mod:`.claude`, :mod:`.agents`, :mod:`.cursor`, :mod:`.copilot`,
:mod:`.gemini`, :mod:`.opencode`), each
with ``capabilities(is_global)`` (what it can express), ``invocations(ctx)`` (the commands its
instructions may name, and how a user types them) and ``emit(ctx, want)`` (the files, blocks and
settings it gets). Project files (``files:`` entries) are installed once, whatever the targets.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from nexus_cli.errors import ConfigError, UsageError
from nexus_cli.personas.model import Level, Persona
from nexus_cli.personas.plan import Desired
from nexus_cli.personas.targets import agents, claude, copilot, cursor, gemini, opencode
from nexus_cli.personas.targets.base import LAYOUT, Capabilities, Context, script_state
from nexus_cli.plural import plural

__all__ = ["LAYOUT", "MODULES", "TARGETS", "Capabilities", "Context", "desired", "parse_targets"]

MODULES: dict[str, ModuleType] = {
    "claude": claude,
    "agents": agents,
    "cursor": cursor,
    "copilot": copilot,
    "gemini": gemini,
    "opencode": opencode,
}
TARGETS = tuple(MODULES)
GLOBAL_TARGETS = ("claude", "agents", "gemini", "opencode")


def parse_targets(value: str | None, is_global: bool) -> list[str] | None:
    if value is None:
        return None
    chosen = [t.strip() for t in value.split(",") if t.strip()]
    allowed = GLOBAL_TARGETS if is_global else TARGETS
    for target in chosen:
        if target not in allowed:
            extra = " (cursor and copilot have no user-level file)" if is_global else ""
            raise UsageError(f"unknown target {target!r}; choose from {', '.join(allowed)}{extra}")
    if not chosen:
        raise UsageError("--target needs at least one of " + ", ".join(allowed))
    return list(dict.fromkeys(chosen))


def default_targets(root: Path, is_global: bool) -> list[str]:
    """claude and agents; cursor, copilot, gemini and opencode too when the project already uses
    them."""
    targets = ["claude", "agents"]
    if not is_global:
        if (root / ".cursor").is_dir():
            targets.append("cursor")
        github = root / ".github"
        if (github / "copilot-instructions.md").is_file() or (github / "instructions").is_dir():
            targets.append("copilot")
        if (root / ".gemini").is_dir() or (root / "GEMINI.md").is_file():
            targets.append("gemini")
        if (root / ".opencode").is_dir() or any(
            (root / f"opencode.{ext}").is_file() for ext in ("json", "jsonc")
        ):
            targets.append("opencode")
    return targets


def capabilities(target: str, is_global: bool) -> Capabilities:
    caps: Capabilities = MODULES[target].capabilities(is_global)
    return caps


def invocations(target: str, ctx: Context) -> dict[str, str]:
    found: dict[str, str] = MODULES[target].invocations(ctx)
    return found


def desired(
    persona: Persona,
    level: Level | None,
    targets: list[str],
    is_global: bool,
    legacy_commands: bool = False,
) -> tuple[Desired, list[str]]:
    """The files, blocks and settings ``persona`` should have, and notes on what was skipped."""
    want = Desired()
    notes: list[str] = []
    ctx = Context.make(persona, level, targets, is_global, legacy_commands)
    for target in targets:
        MODULES[target].emit(ctx, want)
    _refuse_markers(persona, want)
    if is_global and persona.files:
        notes.append(
            f"{plural(len(persona.files), 'project file')} not installed with --global (scripts belong to a project)"
        )
    elif not is_global:
        for item in persona.files:
            want.files[item.target] = script_state(item.source)
    return want, notes


def _refuse_markers(persona: Persona, want: Desired) -> None:
    """Block content must not contain block markers: it would make the block unremovable."""
    for content in want.blocks.values():
        if ">>> nexus:" in content or "<<< nexus:" in content:
            raise ConfigError(
                f"{persona.folder / 'persona.yaml'}: key 'instructions' contains a Nexus block "
                "marker ('>>> nexus:' or '<<< nexus:'); refused"
            )
