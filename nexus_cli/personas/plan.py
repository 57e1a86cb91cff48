"""Reconciling one persona's installed state with what it should be, against a snapshot.

``reconcile(..., desired)`` makes the snapshot and the lock hold exactly ``desired`` for that
persona (``None`` removes it). Nothing is written: conflicts and notes are collected, and the
caller applies the snapshot's changes only when there is no conflict.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from nexus_cli.managed_block import find_block, remove_block, upsert_block
from nexus_cli.personas import settings_json
from nexus_cli.personas.lock import sha256
from nexus_cli.personas.model import PERMISSION_KEYS
from nexus_cli.personas.settings_json import SettingsWant
from nexus_cli.personas.snapshot import FileState, Snapshot

COMMENT = "<!--"

# What a persona can render now, per path: every content it may have there (any level or
# layout). A file is Nexus's to delete only if the persona renders its path, and its bytes are
# one of those contents or the ones the lock recorded (the lock alone may come from a commit).
Renders = dict[str, set[bytes]]


@dataclass
class Desired:
    """Everything one persona should have installed in one scope."""

    files: dict[str, FileState] = field(default_factory=dict)
    blocks: dict[str, str] = field(default_factory=dict)
    settings: dict[str, SettingsWant] = field(default_factory=dict)
    # blocks several personas share (the CLAUDE.md import of AGENTS.md): rel -> {block: content}
    shared_blocks: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class Findings:
    conflicts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    prune_dirs: list[str] = field(default_factory=list)
    keep_edited: bool = False  # upgrade: an edited file is kept and reported, not a conflict


def block_name(persona: str) -> str:
    return f"persona:{persona}"


def reconcile(
    snap: Snapshot,
    lock: dict[str, Any],
    name: str,
    desired: Desired | None,
    found: Findings,
    renders: Renders | None = None,
) -> None:
    """``renders``: what the persona can render now (default: only ``desired``'s files)."""
    want = desired or Desired()
    can_render: Renders = {rel: {state.data} for rel, state in want.files.items()}
    for rel, contents in (renders or {}).items():
        can_render.setdefault(rel, set()).update(contents)
    _files(snap, lock, name, want.files, found, can_render)
    _blocks(snap, lock, name, want, found)
    _settings(snap, lock, name, want.settings, found)
    _release_dirs(lock, name, found)


def _read(snap: Snapshot, rel: str, found: Findings) -> tuple[bool, FileState | None]:
    try:
        return True, snap.get(rel)
    except IsADirectoryError:
        found.conflicts.append(f"{rel}: exists and is not a regular file")
        return False, None


def _claim_dirs(snap: Snapshot, lock: dict[str, Any], rel: str, name: str, found: Findings) -> None:
    """Record the folders Nexus creates for ``rel`` (or shares with other personas)."""
    dirs: dict[str, list[str]] = lock["dirs"]
    for parent in reversed(PurePosixPath(rel).parents):
        key = str(parent)
        if key == ".":
            continue
        if key in dirs:
            if name not in dirs[key]:
                dirs[key].append(name)
        elif key in found.prune_dirs:  # released earlier in this plan: Nexus's still
            found.prune_dirs.remove(key)
            dirs[key] = [name]
        elif not snap.dir_on_disk(key):
            dirs[key] = [name]


def _files(
    snap: Snapshot,
    lock: dict[str, Any],
    name: str,
    want: dict[str, FileState],
    found: Findings,
    renders: Renders,
) -> None:
    files: dict[str, dict[str, str]] = lock["files"]
    for rel in [r for r, rec in files.items() if rec["owner"] == name and r not in want]:
        ok, cur = _read(snap, rel, found)
        if ok and cur is not None:
            recorded = sha256(cur.data) == files[rel]["sha256"]
            if rel not in renders:  # the lock's word alone never deletes a file
                found.notes.append(
                    f"kept {rel}: persona {name} does not render it, so it is not Nexus's to delete"
                )
            elif not recorded and cur.data not in renders[rel]:
                found.notes.append(f"kept {rel}: edited since it was installed")
            else:
                snap.put(rel, None)
        del files[rel]
    for rel, state in want.items():
        ok, cur = _read(snap, rel, found)
        rec = files.get(rel)
        if not ok:
            continue
        if rec is not None and rec["owner"] != name:
            found.conflicts.append(f"{rel}: already installed by persona {rec['owner']!r}")
        elif rec is None and cur is not None:
            found.conflicts.append(f"{rel}: exists and is not managed by Nexus; not overwritten")
        elif rec is not None and cur is not None and sha256(cur.data) != rec["sha256"]:
            if found.keep_edited:
                found.notes.append(f"kept {rel}: edited since it was installed; not upgraded")
            else:
                found.conflicts.append(f"{rel}: edited since it was installed; not overwritten")
        else:
            _claim_dirs(snap, lock, rel, name, found)
            if cur != state:
                snap.put(rel, state)
            files[rel] = {"sha256": sha256(state.data), "owner": name}


def _blocks(
    snap: Snapshot, lock: dict[str, Any], name: str, want: Desired, found: Findings
) -> None:
    blocks: dict[str, dict[str, Any]] = lock["blocks"]
    mine = [r for r, rec in blocks.items() if name in rec["owners"]]
    for rel in sorted({*mine, *want.blocks, *want.shared_blocks}):
        ok, cur = _read(snap, rel, found)
        if not ok:
            continue
        try:
            text = cur.data.decode("utf-8") if cur else ""
        except UnicodeDecodeError:
            found.conflicts.append(f"{rel}: not UTF-8 text; Nexus will not edit it")
            continue
        rec = blocks.setdefault(rel, {"created": cur is None, "owners": []})
        wanted = rel in want.blocks or rel in want.shared_blocks
        new = _edit_blocks(text, rec, name, want.blocks.get(rel), want.shared_blocks.get(rel, {}))
        if (
            found.keep_edited
            and rel not in want.blocks
            and find_block(text, block_name(name), COMMENT)
        ):
            found.notes.append(f"moved persona {name}'s block out of {rel} (new layout)")
        if wanted:
            _claim_dirs(snap, lock, rel, name, found)
            if name not in rec["owners"]:
                rec["owners"].append(name)
        else:
            rec["owners"].remove(name)
        after: FileState | None = None
        if cur is not None or wanted:
            after = FileState(new.encode("utf-8"), cur.mode if cur else 0o644)
        if not rec["owners"]:
            del blocks[rel]
            if rec["created"] and new == "":
                after = None
        if after != cur:
            snap.put(rel, after)


def _edit_blocks(
    text: str, rec: dict[str, Any], name: str, own: str | None, shared: dict[str, str]
) -> str:
    """``text`` with persona ``name``'s own block and its share of the shared blocks updated."""
    if own is not None:
        text = upsert_block(text, block_name(name), own, COMMENT)
    else:
        text = remove_block(text, block_name(name), COMMENT)
    owners_of: dict[str, list[str]] = rec.setdefault("shared", {})
    for block, owners in list(owners_of.items()):
        if name in owners and block not in shared:
            owners.remove(name)
        if not owners:
            text = remove_block(text, block, COMMENT)
            del owners_of[block]
    for block, content in shared.items():
        owners = owners_of.setdefault(block, [])
        if name not in owners:
            owners.append(name)
        text = upsert_block(text, block, content, COMMENT)
    if not owners_of:
        del rec["shared"]
    return text


def _settings(
    snap: Snapshot,
    lock: dict[str, Any],
    name: str,
    want: dict[str, SettingsWant],
    found: Findings,
) -> None:
    records: dict[str, dict[str, Any]] = lock["settings"]
    mine = [r for r, rec in records.items() if name in _owners_in(rec)]
    for rel in sorted({*mine, *want}):
        ok, cur = _read(snap, rel, found)
        text = _settings_source(rel, cur, found) if ok else None
        if text is None:
            continue
        data = settings_json.parse(text, str(snap.root / rel))
        before = copy.deepcopy(data)
        rec = records.get(rel) or {
            "original": text if cur is not None else None,
            "created_keys": [],
        }
        _release_settings(data, rec, name, want.get(rel, SettingsWant()))
        if cur is None and rel not in want:  # the user deleted the file: do not recreate it
            if not _owners_in(rec):
                records.pop(rel, None)
            continue
        for why in _claim_settings(data, rec, name, want.get(rel, SettingsWant())):
            found.conflicts.append(f"{rel}: {why}")
        settings_json.prune_created(data, rec)
        new = _settings_text(data, before, text, rec)
        if _owners_in(rec):
            records[rel] = rec
            _claim_dirs(snap, lock, rel, name, found)
        else:
            records.pop(rel, None)
        after = None if new is None else FileState(new.encode("utf-8"), cur.mode if cur else 0o644)
        if after != cur:
            snap.put(rel, after)


def _settings_source(rel: str, cur: FileState | None, found: Findings) -> str | None:
    """The current text of a settings file ("" when missing), or None when it is not UTF-8."""
    try:
        return cur.data.decode("utf-8") if cur else ""
    except UnicodeDecodeError:
        found.conflicts.append(f"{rel}: not UTF-8 text; Nexus will not edit it")
        return None


def _owners_in(rec: dict[str, Any]) -> set[str]:
    owners: set[str] = set()
    for sub in PERMISSION_KEYS:
        for names in rec.get(sub, {}).values():
            owners.update(names)
    for entry in rec.get("env", {}).values():
        owners.update(entry["owners"])
    return owners


def _release_settings(
    data: dict[str, Any], rec: dict[str, Any], name: str, want: SettingsWant
) -> None:
    for sub in PERMISSION_KEYS:
        owned: dict[str, list[str]] = rec.get(sub, {})
        for rule, owners in list(owned.items()):
            if name in owners and rule not in want.rules.get(sub, ()):
                owners.remove(name)
            if not owners:
                settings_json.drop_rule(data, sub, rule)
                del owned[rule]
    env: dict[str, dict[str, Any]] = rec.get("env", {})
    for key, entry in list(env.items()):
        if name in entry["owners"] and want.env.get(key) != entry["value"]:
            entry["owners"].remove(name)
        if not entry["owners"]:
            if data.get("env", {}).get(key) == entry["value"]:
                del data["env"][key]
            del env[key]


def _claim_settings(
    data: dict[str, Any], rec: dict[str, Any], name: str, want: SettingsWant
) -> list[str]:
    problems: list[str] = []
    for sub, rules in want.rules.items():
        for rule in rules:
            if settings_json.add_rule(data, sub, rule, rec) is None:
                owners = rec[sub][rule]
                if name not in owners:
                    owners.append(name)
    for key, value in want.env.items():
        why = settings_json.set_env(data, key, value, rec)
        if why:
            problems.append(why)
        elif key in rec["env"] and name not in rec["env"][key]["owners"]:
            rec["env"][key]["owners"].append(name)
    return problems


def _settings_text(
    data: dict[str, Any], before: dict[str, Any], text: str, rec: dict[str, Any]
) -> str | None:
    if _owners_in(rec):
        return text if data == before else settings_json.render(data, text)
    original = rec.get("original")
    if original is None:
        return None if not data else settings_json.render(data, text)
    if settings_json.parse(original, "original") == data:
        return str(original)
    return text if data == before else settings_json.render(data, text)


def _release_dirs(lock: dict[str, Any], name: str, found: Findings) -> None:
    needed = {r for r, rec in lock["files"].items() if rec["owner"] == name}
    needed |= {r for r, rec in lock["blocks"].items() if name in rec["owners"]}
    needed |= {r for r, rec in lock["settings"].items() if name in _owners_in(rec)}
    dirs: dict[str, list[str]] = lock["dirs"]
    for rel, owners in list(dirs.items()):
        if name not in owners or any(p.startswith(rel + "/") for p in needed):
            continue
        owners.remove(name)
        if not owners:
            del dirs[rel]
            found.prune_dirs.append(rel)
