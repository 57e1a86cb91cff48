"""Plan, then apply: add, remove and switch personas in a project or in the user's dotfiles.

Every operation builds a :class:`Plan` against a :class:`Snapshot` and a copy of the lock. A plan
with conflicts is never applied; a plan without is applied file by file (temporary file +
``os.replace``), recording the lock before adding and after removing, so that what Nexus wrote
is always accounted for.
"""

from __future__ import annotations

import copy
import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexus_cli import safe_path
from nexus_cli.errors import ConflictError, NexusError, NotFoundError, StateError
from nexus_cli.paths import user_config_dir
from nexus_cli.personas import lock as lockfile
from nexus_cli.personas import targets as target_map
from nexus_cli.personas.catalog import Layer, aliases, layers, load
from nexus_cli.personas.model import Persona
from nexus_cli.personas.plan import Findings, Renders, reconcile
from nexus_cli.personas.snapshot import Change, Snapshot
from nexus_cli.plural import plural
from nexus_cli.suggest import did_you_mean

GLOBAL_FOLDERS = (
    ".claude",
    ".codex",
    ".agents",
    ".gemini",
    ".config/opencode",
)  # all that --global may write in the home folder


@dataclass(frozen=True)
class Scope:
    """Where personas are installed: a project (root = repository) or global (root = home)."""

    root: Path
    lock_path: Path
    is_global: bool
    project_root: Path | None

    @property
    def chain_root(self) -> Path | None:
        """Where writes are opened folder by folder without following links (a project's root);
        ``None`` with ``--global``, where a dotfiles manager's links in the home are accepted."""
        return None if self.is_global else self.root

    @property
    def no_symlinks(self) -> bool:
        """A project's symlinks are repository content: never write through one."""
        return not self.is_global

    def snapshot(self) -> Snapshot:
        only_under = GLOBAL_FOLDERS if self.is_global else ()
        return Snapshot(self.root, no_symlinks=self.no_symlinks, only_under=only_under)

    def search(self) -> list[Layer]:
        return layers(self.project_root, include_project=not self.is_global)


def project_scope(root: Path) -> Scope:
    return Scope(root, root / ".nexus" / "personas.lock", False, root)


def global_scope(project_root: Path | None = None) -> Scope:
    home = Path(os.path.expanduser("~"))
    return Scope(home, user_config_dir() / "personas.lock", True, project_root)


@dataclass
class Plan:
    scope: Scope
    lock_before: dict[str, Any]
    lock_after: dict[str, Any]
    changes: list[Change]
    findings: Findings
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def conflicts(self) -> list[str]:
        return self.findings.conflicts

    @property
    def notes(self) -> list[str]:
        return self.findings.notes

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": str(self.scope.root),
            "global": self.scope.is_global,
            "added": self.added,
            "removed": self.removed,
            "changes": [{"path": c.rel, "action": c.action} for c in self.changes],
            "conflicts": self.conflicts,
            "notes": self.notes,
        }


def active(scope: Scope) -> dict[str, dict[str, Any]]:
    personas: dict[str, dict[str, Any]] = lockfile.read(scope.lock_path, scope.chain_root)[
        "personas"
    ]
    return personas


def active_rows(scope: Scope) -> list[dict[str, Any]]:
    """The active personas as ``persona current --json`` shows them: every key always present
    (a lock written by an older Nexus lacks ``layout``, which was 1)."""
    return [
        {
            "name": name,
            "level": record.get("level"),
            "targets": list(record.get("targets", [])),
            "origin": record.get("origin"),
            "layout": record.get("layout", 1),
            "legacy_commands": bool(record.get("legacy_commands", False)),
        }
        for name, record in active(scope).items()
    ]


def _start(scope: Scope) -> tuple[Snapshot, dict[str, Any], dict[str, Any], Findings]:
    before = lockfile.read(scope.lock_path, scope.chain_root)
    return scope.snapshot(), before, copy.deepcopy(before), Findings()


def _add_into(
    snap: Snapshot,
    lock: dict[str, Any],
    found: Findings,
    persona: Persona,
    level: str | None,
    targets: list[str] | None,
    is_global: bool,
    legacy_commands: bool | None = None,
) -> None:
    record = lock["personas"].get(persona.name, {})
    chosen_level = persona.pick_level(level if level is not None else record.get("level"))
    chosen_targets = (
        targets
        or _recorded_targets(record, is_global)
        or target_map.default_targets(snap.root, is_global)
    )
    legacy = bool(record.get("legacy_commands")) if legacy_commands is None else legacy_commands
    want, notes = target_map.desired(persona, chosen_level, chosen_targets, is_global, legacy)
    found.notes.extend(notes)
    can_render = renders(persona, is_global, _recorded_targets(record, is_global), chosen_targets)
    reconcile(snap, lock, persona.name, want, found, can_render)
    lock["personas"][persona.name] = {
        "level": chosen_level.name if chosen_level else None,
        "targets": chosen_targets,
        "origin": persona.origin,
        "layout": target_map.LAYOUT,
        **({"legacy_commands": True} if legacy else {}),
    }


def _recorded_targets(record: dict[str, Any], is_global: bool) -> list[str] | None:
    """The targets the lock recorded for a persona; the lock may come from a commit."""
    recorded = record.get("targets")
    if recorded is None:
        return None
    allowed = target_map.GLOBAL_TARGETS if is_global else target_map.TARGETS
    if not isinstance(recorded, list) or not all(t in allowed for t in recorded):
        raise StateError(
            f"the persona lock records unknown targets {recorded!r}",
            hint="pass --target, or restore the lock from git",
        )
    return recorded


def renders(persona: Persona, is_global: bool, *target_sets: list[str] | None) -> Renders:
    """Every file ``persona`` can render now in this scope (any level, either command layout,
    for each of ``target_sets``, each target alone and all together): removal deletes a file only when its path
    and bytes come from here (or its path does and its bytes are what the lock recorded). The
    lock's claim alone deletes nothing."""
    allowed = list(target_map.GLOBAL_TARGETS if is_global else target_map.TARGETS)
    combos = {tuple(t) for t in target_sets if t} | {tuple(allowed)} | {(t,) for t in allowed}
    levels: list[str | None] = [*persona.levels] or [None]
    found: Renders = {}
    for targets in combos:
        for level in levels:
            for legacy in (False, True):
                want, _ = target_map.desired(
                    persona, persona.pick_level(level), list(targets), is_global, legacy
                )
                for rel, state in want.files.items():
                    found.setdefault(rel, set()).add(state.data)
    for rel in retired_paths(persona, is_global):  # the lock's bytes only: no render makes them
        found.setdefault(rel, set())
    return found


def retired_paths(persona: Persona, is_global: bool) -> set[str]:
    """Paths an older layout of Nexus wrote for ``persona`` that no target renders any more:
    Codex's custom prompts (``~/.codex/prompts``, layout 2), replaced by Agent Skills. An upgrade
    removes such a file only when its bytes are what the lock recorded."""
    if not is_global:
        return set()
    commands = [*persona.commands, *(c for lvl in persona.levels.values() for c in lvl.commands)]
    return {f".codex/prompts/{persona.name}-{path.stem}.md" for path in commands}


def _remove_from(
    scope: Scope, snap: Snapshot, lock: dict[str, Any], found: Findings, name: str
) -> None:
    recorded = lock["personas"].get(name, {})
    try:
        targets = _recorded_targets(recorded, scope.is_global)
        can_render = renders(load(name, scope.search()), scope.is_global, targets)
    except NexusError as exc:  # gone or broken: no file can be shown to be Nexus's
        found.notes.append(f"persona {name} cannot be rendered ({exc.message}): its files are kept")
        can_render = {}
    reconcile(snap, lock, name, None, found, can_render)
    lock["personas"].pop(name, None)


def _finish(
    scope: Scope, snap: Snapshot, before: dict[str, Any], after: dict[str, Any], found: Findings
) -> Plan:
    return Plan(scope, before, after, snap.changes(), found)


def plan_add(
    scope: Scope,
    persona: Persona,
    level: str | None = None,
    targets: list[str] | None = None,
    legacy_commands: bool | None = None,
) -> Plan:
    snap, before, after, found = _start(scope)
    _add_into(snap, after, found, persona, level, targets, scope.is_global, legacy_commands)
    plan = _finish(scope, snap, before, after, found)
    plan.added.append(persona.name)
    return plan


def plan_remove(scope: Scope, names: list[str]) -> Plan:
    """Remove what personas ``names`` added; a name may be an alias of an installed persona
    (``architect`` for ``software-architect``), as for ``add``."""
    snap, before, after, found = _start(scope)
    if any(name not in after["personas"] for name in names):
        other = aliases(scope.search())
        names = [other.get(n, n) if n not in after["personas"] else n for n in names]
    for name in names:
        if name not in after["personas"]:
            raise NotFoundError(
                f"persona {name!r} is not installed here",
                hint=did_you_mean(name, after["personas"])
                or "`nexus persona current` lists the active personas"
                + ("" if scope.is_global else "; add --global for the user-level ones"),
            )
        _remove_from(scope, snap, after, found, name)
    plan = _finish(scope, snap, before, after, found)
    plan.removed.extend(names)
    return plan


def plan_switch(
    scope: Scope,
    persona: Persona,
    level: str | None = None,
    targets: list[str] | None = None,
    legacy_commands: bool | None = None,
) -> Plan:
    snap, before, after, found = _start(scope)
    others = [n for n in after["personas"] if n != persona.name]
    for name in others:
        _remove_from(scope, snap, after, found, name)
    _add_into(snap, after, found, persona, level, targets, scope.is_global, legacy_commands)
    plan = _finish(scope, snap, before, after, found)
    plan.removed.extend(others)
    plan.added.append(persona.name)
    return plan


def plan_upgrade(scope: Scope) -> Plan:
    """Reinstall every persona recorded with an older layout in the current one.

    Files Nexus wrote and nobody touched move to the new layout; a file the user edited is
    never overwritten or deleted: it is kept and reported in the plan's notes.
    """
    snap, before, after, found = _start(scope)
    found.keep_edited = True
    plan_names: list[str] = []
    for name, record in list(after["personas"].items()):
        if record.get("layout", 1) >= target_map.LAYOUT:
            continue
        try:
            persona = load(name, scope.search())
        except NexusError as exc:
            found.notes.append(f"skipped {name}: {exc.message}")
            continue
        _add_into(
            snap,
            after,
            found,
            persona,
            record.get("level"),
            record.get("targets"),
            scope.is_global,
            bool(record.get("legacy_commands")),
        )
        plan_names.append(name)
    plan = _finish(scope, snap, before, after, found)
    plan.added.extend(plan_names)
    return plan


def check(plan: Plan) -> None:
    """Raise ConflictError naming every conflict of ``plan``, if it has any."""
    if plan.conflicts:
        raise ConflictError(
            f"{plural(len(plan.conflicts), 'conflict')}, nothing was changed:"
            + "".join(f"\n  - {c}" for c in plan.conflicts),
            hint="move or remove the files named above, then run the command again",
        )


def apply(plan: Plan) -> None:
    """Apply a conflict-free plan. Raises ConflictError (and writes nothing) otherwise.

    The lock is first written as the union of before and after, so that if applying stops
    half-way (a crash, a full disk) everything Nexus may have written is still recorded and a
    later ``remove`` can take it out; the final lock is written at the end.
    """
    check(plan)
    if not plan.changes and plan.lock_after == plan.lock_before:
        return
    lock_root = plan.scope.chain_root
    lockfile.write(
        plan.scope.lock_path, lockfile.union(plan.lock_before, plan.lock_after), root=lock_root
    )
    for change in plan.changes:
        try:
            _apply_change(plan.scope, change)
        except (OSError, StateError) as exc:
            why = exc.message if isinstance(exc, StateError) else exc.strerror or exc
            raise StateError(
                f"stopped while writing {change.rel}: {why}",
                hint="the lock records everything written so far: fix the cause and run the "
                "command again, or `nexus persona remove` to take it out",
            ) from None
    for rel in sorted(plan.findings.prune_dirs, key=lambda r: -r.count("/")):
        try:
            if plan.scope.chain_root is not None:
                safe_path.rmdir(plan.scope.chain_root, rel)
            else:  # --global: a dotfiles link in the home is the user's own
                os.rmdir(plan.scope.root / rel)
        except OSError:
            plan.notes.append(f"kept folder {rel}/: it is not empty")
    lockfile.write(plan.scope.lock_path, plan.lock_after, root=lock_root)


def _apply_change(scope: Scope, change: Change) -> None:
    path = scope.snapshot().real(change.rel)  # checked again right before writing
    if scope.chain_root is not None:  # a project: every folder opened without following links
        root, rel = scope.chain_root, change.rel
    else:
        root, rel = path.parent, path.name
        if change.after is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
    if change.after is None:
        safe_path.unlink(root, rel)
        return
    safe_path.write_atomic(root, rel, change.after.data, mode=change.after.mode, makedirs=True)


def unified_diff(plan: Plan) -> str:
    """What applying ``plan`` would change, as a unified diff (binary files summarised)."""
    out: list[str] = []
    for change in plan.changes:
        before = _lines(change.before.data if change.before else b"")
        after = _lines(change.after.data if change.after else b"")
        old = f"a/{change.rel}" if change.before else "/dev/null"
        new = f"b/{change.rel}" if change.after else "/dev/null"
        if before is None or after is None:
            out.append(f"Binary files {old} and {new} differ\n")
            continue
        out.extend(difflib.unified_diff(before, after, old, new))
        if out and not out[-1].endswith("\n"):
            out[-1] += "\n\\ No newline at end of file\n"
        if change.before and change.after and change.before.mode != change.after.mode:
            out.append(f"mode {change.before.mode:o} -> {change.after.mode:o} {change.rel}\n")
    return "".join(out)


def _lines(data: bytes) -> list[str] | None:
    try:
        return data.decode("utf-8").splitlines(keepends=True)
    except UnicodeDecodeError:
        return None
