"""``nexus persona``: install role bundles for coding assistants, safely and reversibly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import click

from nexus_cli.completion import completer
from nexus_cli.errors import NexusError, UsageError
from nexus_cli.lazy import NexusGroup
from nexus_cli.mcp import plugin
from nexus_cli.output import emit_json, info, json_option, print_table, warn
from nexus_cli.paths import user_config_dir
from nexus_cli.personas import installer
from nexus_cli.personas.catalog import load, shadows_builtin
from nexus_cli.personas.listing import current as active_personas
from nexus_cli.personas.listing import list_personas, scope_for
from nexus_cli.personas.listing import show as show_persona
from nexus_cli.personas.scaffold import create as scaffold
from nexus_cli.personas.targets import parse_targets
from nexus_cli.plural import plural
from nexus_cli.project import find_project
from nexus_cli.tasks.identity import current_agent
from nexus_cli.telemetry.journal import invocation
from nexus_cli.terminal import escape

if TYPE_CHECKING:
    from nexus_cli.personas.installer import Plan, Scope

F = TypeVar("F", bound=Callable[..., Any])

NAME = click.argument("name", shell_complete=completer("persona"))
GLOBAL = click.option(
    "--global", "is_global", is_flag=True, help="Install into your home folder (~/.claude/...)."
)
DRY_RUN = click.option("--dry-run", is_flag=True, help="Show the plan; write nothing.")
LEVEL = click.option(
    "--level", metavar="LEVEL", help="Skill level (developer: beginner, l1, l2, expert)."
)
LEGACY = click.option(
    "--legacy-commands/--skills",
    "legacy_commands",
    default=None,
    help="Claude Code: install commands as .claude/commands/ (the legacy form) instead of skills.",
)
TARGET = click.option(
    "--target",
    metavar="LIST",
    help=(
        "Comma-separated: claude,agents,cursor,copilot,gemini,opencode "
        "(default: claude,agents + those in use)."
    ),
)


@click.group(cls=NexusGroup)
def persona() -> None:
    """Role bundles (instructions, slash commands, permissions, scripts) for Claude Code,
    AGENTS.md, Cursor and Copilot. Every change is planned first, recorded in a lock file and
    reversible with `remove`."""
    invocation.note(event_type="persona")


def _scope(is_global: bool) -> Scope:
    """The project's scope (outside a project: an error), or the user's with --global."""
    if is_global:
        try:
            return scope_for(find_project().checkout, is_global=True)
        except NexusError:
            return scope_for(None)
    return scope_for(find_project().checkout)


def _signal(kind: str, names: list[str], origins: dict[str, str]) -> None:
    for name in names:
        invocation.signal(kind, persona=name if origins.get(name) == "builtin" else "custom")


def _report(plan: Plan, dry_run: bool, as_json: bool) -> None:
    if as_json:
        emit_json({**plan.to_dict(), "dry_run": dry_run})
    else:
        verb = "would " if dry_run else ""
        for change in plan.changes:
            click.echo(f"{verb}{change.action} {escape(change.rel)}")
        if not plan.changes:
            info("nothing to change")
        for note in plan.notes:
            info(f"note: {escape(note)}")


def _run(plan: Plan, dry_run: bool, as_json: bool) -> None:
    origins = {n: r.get("origin", "custom") for n, r in plan.lock_before["personas"].items()}
    origins |= {n: r.get("origin", "custom") for n, r in plan.lock_after["personas"].items()}
    if dry_run:
        _report(plan, dry_run, as_json)
        installer.check(plan)  # a dry run that would conflict exits 1 too
        return
    installer.apply(plan)
    _report(plan, False, as_json)
    _signal("persona_remove", plan.removed, origins)
    _signal("persona_add", plan.added, origins)


def _listing_scope() -> Scope:
    """For `list` and `show`: the project's personas, or only the user's outside a project."""
    try:
        root = find_project().checkout
    except NexusError:
        root = None
    return scope_for(root)


@persona.command("list")
@json_option
def list_(as_json: bool) -> None:
    """List the personas you can add (built-in, user and project ones)."""
    rows = list_personas(_listing_scope()).to_json()
    if as_json:
        emit_json(rows)
        return
    print_table(
        ["NAME", "ORIGIN", "LEVELS", "DESCRIPTION"],
        [(r["name"], r["origin"], ",".join(r["levels"]), r["description"]) for r in rows],
        empty="no personas found",
    )


@persona.command()
@NAME
@json_option
def show(name: str, as_json: bool) -> None:
    """Show what persona NAME contains."""
    found = show_persona(_listing_scope(), name)
    data = found.to_json()
    if as_json:
        emit_json(data)
        return
    p = found.persona
    click.echo(f"{p.display_name} ({p.name}, {p.origin})")
    click.echo(p.description)
    for key in ("levels", "commands", "files"):
        if data[key]:
            click.echo(f"{key}: {', '.join(data[key])}")
    for sub, rules in data["permissions"].items():
        if rules:
            click.echo(f"{sub}: {', '.join(rules)}")
    if p.environment:
        click.echo("env: " + ", ".join(f"{k}={v}" for k, v in p.environment.items()))


def _install_options(func: F) -> F:
    """The arguments `add` and `switch` share: NAME, --level, --global, --target, --dry-run, --json."""
    for decorate in (json_option, DRY_RUN, LEGACY, TARGET, GLOBAL, LEVEL, NAME):
        func = decorate(func)
    return func


def _install(
    planner: Literal["plan_add", "plan_switch"],
    name: str,
    level: str | None,
    is_global: bool,
    target: str | None,
    legacy_commands: bool | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Plan an add or a switch of persona NAME, then apply it (or only show it, with --dry-run)."""
    scope = _scope(is_global)
    search = scope.search()
    persona = load(name, search)
    plan = getattr(installer, planner)(
        scope, persona, level, parse_targets(target, is_global), legacy_commands
    )
    if persona.origin != "builtin" and shadows_builtin(persona.name, search):
        plan.notes.append(
            f"{persona.name}: the {persona.origin}'s own persona ({persona.folder}), which "
            "replaces the built-in one of that name"
        )
    _run(plan, dry_run, as_json)


@persona.command()
@_install_options
def add(
    name: str,
    level: str | None,
    is_global: bool,
    target: str | None,
    legacy_commands: bool | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Add persona NAME to this project (or your home folder with --global).

    Every change is checked first: if a file of yours would be overwritten, nothing is written
    and each conflict is named. Running it again changes nothing.
    """
    _install("plan_add", name, level, is_global, target, legacy_commands, dry_run, as_json)


@persona.command()
@click.argument("names", nargs=-1, required=True, shell_complete=completer("persona"))
@GLOBAL
@DRY_RUN
@json_option
def remove(names: tuple[str, ...], is_global: bool, dry_run: bool, as_json: bool) -> None:
    """Remove what persona NAMES added; files you edited are kept and reported."""
    _run(installer.plan_remove(_scope(is_global), list(names)), dry_run, as_json)


@persona.command()
@_install_options
def switch(
    name: str,
    level: str | None,
    is_global: bool,
    target: str | None,
    legacy_commands: bool | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Remove every other active persona and add NAME, in one all-or-nothing step."""
    _install("plan_switch", name, level, is_global, target, legacy_commands, dry_run, as_json)


@persona.command()
@GLOBAL
@DRY_RUN
@json_option
def upgrade(is_global: bool, dry_run: bool, as_json: bool) -> None:
    """Move personas installed with an older layout to the current one, in place.

    The plan is shown first. Files you edited since Nexus installed them are never overwritten
    or deleted: they are kept and reported.
    """
    plan = installer.plan_upgrade(_scope(is_global))
    if not as_json:
        _report(plan, True, False)
    if dry_run:
        if as_json:
            _report(plan, True, True)
        installer.check(plan)
        return
    installer.apply(plan)
    if as_json:
        _report(plan, False, True)
    elif plan.added:
        info(f"upgraded {plural(len(plan.added), 'persona')}: {', '.join(plan.added)}")


@persona.command()
@GLOBAL
@json_option
def current(is_global: bool, as_json: bool) -> None:
    """List the active personas."""
    rows = active_personas(_scope(is_global)).to_json()
    if as_json:
        emit_json(rows)
        return
    print_table(
        ["NAME", "LEVEL", "TARGETS", "ORIGIN"],
        [(r["name"], r["level"] or "", ",".join(r["targets"]), r["origin"] or "") for r in rows],
        empty="no persona is active",
    )


@persona.command()
@NAME
@LEVEL
@GLOBAL
@TARGET
def diff(name: str, level: str | None, is_global: bool, target: str | None) -> None:
    """Show what `add NAME` would change, as a unified diff."""
    scope = _scope(is_global)
    plan = installer.plan_add(
        scope, load(name, scope.search()), level, parse_targets(target, is_global)
    )
    click.echo(installer.unified_diff(plan), nl=False)
    for conflict in plan.conflicts:
        warn(f"conflict: {conflict}")


@persona.command()
@NAME
@click.option(
    "--from",
    "base",
    metavar="NAME",
    shell_complete=completer("persona"),
    help="Extend this persona.",
)
@GLOBAL
def create(name: str, base: str | None, is_global: bool) -> None:
    """Scaffold a custom persona in .nexus/personas/ (or your config folder with --global)."""
    scope = _scope(is_global)
    root = user_config_dir() / "personas" if is_global else scope.root / ".nexus" / "personas"
    folder = scaffold(name, base, root, scope.search(), root=scope.chain_root)
    click.echo(str(folder))
    info(f"edit {folder}/persona.yaml, then run `nexus persona add {name}`")


@persona.command()
@click.argument("names", nargs=-1, required=True, shell_complete=completer("persona"))
@click.option(
    "--plugin",
    "plugin_dir",
    type=click.Path(path_type=Path),
    help="Write NAME as a Claude Code plugin into this new (or empty) folder.",
)
@click.option(
    "--marketplace",
    "marketplace_dir",
    type=click.Path(path_type=Path),
    help="Write a plugin marketplace of the NAMES into this new (or empty) folder.",
)
@click.option("--name", "market_name", help="The marketplace's name (default: the folder's).")
@click.option("--owner", help="The author and owner named (default: git user.name).")
@LEVEL
@json_option
def export(
    names: tuple[str, ...],
    plugin_dir: Path | None,
    marketplace_dir: Path | None,
    market_name: str | None,
    owner: str | None,
    level: str | None,
    as_json: bool,
) -> None:
    """Export personas as Claude Code plugins: `--plugin DIR` for one, `--marketplace DIR` for a
    marketplace a team hosts in git (`/plugin marketplace add` in Claude Code).

    Each plugin holds the persona as a subagent, its commands as skills, Nexus's gate-enforcing
    hooks and the `nexus` MCP server. As with `--global`, the persona's project files (scripts)
    stay out. The folder must be new or empty; it is written whole or not at all.
    """
    if (plugin_dir is None) == (marketplace_dir is None):
        raise UsageError("choose one of --plugin DIR and --marketplace DIR")
    scope = _listing_scope()
    loaded = [load(n, scope.search()) for n in dict.fromkeys(names)]
    chosen = [(p, p.pick_level(level) if level or p.levels else None) for p in loaded]
    if plugin_dir is not None:
        if len(chosen) != 1:
            raise UsageError("--plugin exports one persona; use --marketplace for several")
        result = plugin.export_plugin(*chosen[0], plugin_dir, author=owner or current_agent())
    else:
        assert marketplace_dir is not None
        result = plugin.export_marketplace(
            chosen,
            marketplace_dir,
            name=market_name or plugin.default_name(marketplace_dir),
            owner=owner or current_agent(),
        )
    if as_json:
        emit_json(result.to_json())
        return
    for item in result.plugins:
        info(f"wrote plugin {item['name']} in {escape(item['path'])}")
    if result.marketplace:
        info(f"wrote {escape(result.marketplace)}")
