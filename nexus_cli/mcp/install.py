"""``nexus mcp install|uninstall``: plan, apply under a lock, record, take back byte for byte.

Each client's configuration file gets Nexus's entries (the ``nexus`` server, and with ``--hooks``
or ``nexus hooks install`` the client's lifecycle hooks) *inserted* into the user's text: JSON, JSONC (VS Code, comments kept) or
TOML (Codex, through tomlkit). The lock (``.nexus/mcp.lock``, or ``mcp.lock`` in the user config
folder for ``--global``; 0600) records only what Nexus added — the entries, the containers it had
to create, each insertion (Nexus's own text) and hashes of the file before and after — never a
copy of the user's file: ``~/.claude.json`` holds account data. When a file is unchanged since,
uninstall takes the insertions out and the user's bytes are back (or removes the file Nexus
created); when someone edited it since, only Nexus's entries are cut out of the new text.

Installing is idempotent and additive: what is already there is left alone (the same install
again writes nothing), and what is missing — ``--hooks`` after a plain install — is added to the
same record. Which files each client reads, and Nexus's entries there, are
:mod:`nexus_cli.mcp.client_files`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexus_cli import config_json, fs, jsonio, managed_block, safe_path
from nexus_cli.errors import ConflictError, NexusError, StateError, UsageError
from nexus_cli.mcp import client_files, config_toml
from nexus_cli.mcp.client_files import HOOK_CLIENTS, Scope, Target

# What `--hooks` installed before: a PreCompact hook whose output never reached the agent.
# Installing again takes these out of the files where Nexus's lock records them.
RETIRED_HOOKS = (
    {
        "path": ["hooks", "SessionStart"],
        "item": {"hooks": [{"type": "command", "command": "nexus prime"}]},
    },
    {
        "path": ["hooks", "PreCompact"],
        "item": {"hooks": [{"type": "command", "command": "nexus task context --current"}]},
    },
)


LOCK_VERSION = 2
PRIVATE = 0o600  # the lock, and any file Nexus creates in a home folder


@dataclass
class Change:
    path: Path
    verb: str  # create, update, restore, remove
    before: str | None
    after: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "action": self.verb, "content": self.after}


@dataclass
class Plan:
    scope: Scope
    client: str
    lock_after: dict[str, Any]
    changes: list[Change] = field(default_factory=list)
    already: bool = False  # install: everything was there already
    rewrite_lock: bool = False  # the lock must be written even with no change (an old format)

    def to_dict(self) -> dict[str, Any]:
        return {"client": self.client, "changes": [c.to_dict() for c in self.changes]}


def _read(path: Path) -> str | None:
    """The client's file (None: there is none); a FIFO, device or folder there is refused, never
    opened (a FIFO's open waits for a writer forever)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise StateError(f"{path}: cannot read it: not a regular file")
        try:
            return fh.read().decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise StateError(f"{path}: cannot read it: {exc}") from None


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _upgraded(record: dict[str, Any]) -> dict[str, Any]:
    """A version 1 record (it kept the user's whole file) as version 2 (hashes only)."""
    original = record.get("original")
    fmt = "block" if "block" in record else "json"
    new = {
        "format": fmt,
        "created_file": original is None,
        "original_sha": None if original is None else _sha(original),
        "written": record.get("written"),
        "inserts": None,
        "entries": record.get("entries", []),
        "created": record.get("created", []),
    }
    if "block" in record:
        new["block"] = record["block"]
    return new


def read_lock(path: Path) -> tuple[dict[str, Any], bool]:
    """The lock, and whether it has to be written again (an old format, or not private)."""
    text = _read(path)
    if text is None:
        return {"version": LOCK_VERSION, "clients": {}}, False
    try:
        data = jsonio.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("clients"), dict):
            raise ValueError("no 'clients' object")
        for installed in data["clients"].values():
            if not isinstance(installed, dict) or not isinstance(installed.get("files"), dict):
                raise ValueError("a client without a 'files' object")
    except ValueError as exc:
        raise StateError(
            f"{path}: the MCP install lock is corrupt ({exc})",
            hint="restore it from git, or remove it to forget what Nexus installed",
        ) from None
    stale = data.get("version") != LOCK_VERSION
    if stale:
        for installed in data["clients"].values():
            installed["files"] = {k: _upgraded(r) for k, r in installed["files"].items()}
        data["version"] = LOCK_VERSION
    with contextlib.suppress(OSError):
        stale = stale or stat.S_IMODE(path.stat().st_mode) != PRIVATE
    return data, stale


def _missing(target: Target, text: str | None) -> list[dict[str, Any]]:
    where = str(target.path)
    if target.fmt == "toml":
        return config_toml.missing(text, target.entries, where)
    return config_json.missing(text, target.entries, where, jsonc=target.fmt == "jsonc")


def _add(
    target: Target, text: str, entries: list[dict[str, Any]]
) -> tuple[str, list[config_json.Insert] | None, list[str]]:
    where = str(target.path)
    if target.fmt == "toml":
        return config_toml.add(text, entries, where)
    after, inserts, created = config_json.add(text, entries, where, jsonc=target.fmt == "jsonc")
    return after, inserts, created


def lock_name(client: str, *, server: bool = True) -> str:
    """The lock's name for what one command installed: ``claude`` (``nexus mcp install``, with
    its ``--hooks``), ``claude-hooks`` (``nexus hooks install``); each uninstall takes back its own."""
    return client if server else f"{client}-hooks"


def plan_install(sc: Scope, client: str, *, hooks: bool = False, server: bool = True) -> Plan:
    if hooks and client not in HOOK_CLIENTS:
        raise UsageError(
            f"{client} has no lifecycle hooks Nexus can install; hooks are for "
            + " and ".join(HOOK_CLIENTS)
        )
    lock, stale = read_lock(sc.lock_path)
    name = lock_name(client, server=server)
    plan = Plan(sc, client, lock, rewrite_lock=stale)
    installed = lock["clients"].get(name)
    records: dict[str, Any] = dict(installed["files"]) if installed else {}
    for target in client_files.targets(client, sc, hooks, server):
        before = _read(target.path)
        current = before
        record = records.get(target.key)
        retired = _retired(record) if hooks else []
        if retired and current is not None and record is not None:
            emptied = [c for c in record["created"] if c in {".".join(e["path"]) for e in retired}]
            current = config_json.remove(current, retired, emptied, str(target.path), jsonc=False)
            record = {
                **record,
                "inserts": None,  # the insertions no longer add up to the text
                "entries": [e for e in record["entries"] if e not in retired],
                "created": [c for c in record["created"] if c not in emptied],
            }
        absent = _missing(target, current)
        if not absent and current == before:
            continue  # all there: Nexus's from before, or the user's own (never recorded as ours)
        after, inserts, created = _add(target, current or "", absent)
        if record is None or before is None:
            record = {
                "format": target.fmt,
                "created_file": before is None,
                "original_sha": None if before is None else _sha(before),
                "inserts": inserts,
                "entries": absent,
                "created": created,
            }
        else:  # additive: the same record grows (its insertions chain while nobody edits)
            chained = record.get("inserts") is not None and record.get("written") == _sha(before)
            record = {
                **record,
                "inserts": record["inserts"] + inserts if chained and inserts is not None else None,
                "entries": record["entries"] + absent,
                "created": record["created"] + created,
            }
        record["written"] = _sha(after)
        records[target.key] = record
        verb = "update" if before is not None else "create"
        plan.changes.append(Change(target.path, verb, before, after))
    if not plan.changes:
        plan.already = True
        return plan
    lock["clients"][name] = {"files": records}
    return plan


def _retired(record: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The hooks of an older ``--hooks`` that this record says Nexus added."""
    if record is None:
        return []
    return [e for e in record.get("entries", []) if e in RETIRED_HOOKS]


def plan_uninstall(sc: Scope, client: str, *, server: bool = True) -> Plan:
    lock, stale = read_lock(sc.lock_path)
    installed = lock["clients"].pop(lock_name(client, server=server), None)
    plan = Plan(sc, client, lock, rewrite_lock=stale)
    if installed is None:
        return plan
    # a project's lock may come from anyone's commit (a global one is the user's own, and names
    # the files where $CODEX_HOME was then)
    own = None if sc.is_global else _client_files(sc, client, server=server)
    for key, record in installed["files"].items():
        if not sc.is_global and (Path(key).is_absolute() or ".." in Path(key).parts):
            # a project's lock may come from anyone's commit: it names files inside the project
            raise StateError(
                f"{sc.lock_path}: names {key!r}, outside the project",
                hint="remove that entry from the lock, or the lock itself",
            )
        # ... and only the client's own configuration files, with only Nexus's entries in them:
        # never a source file, `.git/config` or your own permission rules
        entries = record.get("entries") or []
        if (own is not None and key not in own) or not all(_nexus_entry(e) for e in entries):
            raise StateError(
                f"{sc.lock_path}: names {key!r} with entries Nexus never installs for {client}",
                hint="remove that entry from the lock, or the lock itself; nothing was changed",
            )
        path = sc.root / key  # a global lock's absolute key ($CODEX_HOME) stays itself
        before = _read(path)
        if before is None:
            continue  # removed by hand: nothing of ours is left
        after = _taken_back(path, before, record)
        if after != before:
            verb = "remove" if after is None else "restore"
            if after is not None and _sha(after) != record.get("original_sha"):
                verb = "update"
            plan.changes.append(Change(path, verb, before, after))
    return plan


OPENCODE_FILES = ("opencode.json", "opencode.jsonc")


def _client_files(sc: Scope, client: str, *, server: bool) -> set[str]:
    """The lock keys of the files an install for ``client`` writes (both OpenCode names)."""
    hooks = client in HOOK_CLIENTS
    keys = {t.key for t in client_files.targets(client, sc, hooks=hooks, server=server)}
    if client == "opencode":  # the one it wrote may be either
        folder = client_files.opencode_config(sc).parent
        keys |= {client_files.target(sc, folder / n, "jsonc", []).key for n in OPENCODE_FILES}
    return keys


def _nexus_entry(entry: Any) -> bool:
    """Whether a lock's entry is one Nexus writes: the server named ``nexus``, or a hook item
    whose every command is a ``nexus`` command (older versions' included)."""
    if not isinstance(entry, dict):
        return False
    if "key" in entry:
        return bool(entry["key"] == "nexus")
    item = entry.get("item")
    hooks = item.get("hooks") if isinstance(item, dict) else None
    path = entry.get("path")
    return (
        isinstance(path, list)
        and path[:1] == ["hooks"]
        and isinstance(hooks, list)
        and bool(hooks)
        and all(isinstance(h, dict) and "nexus " in str(h.get("command", "")) for h in hooks)
    )


def _taken_back(path: Path, current: str, record: dict[str, Any]) -> str | None:
    """``current`` without Nexus's entries (None: remove the file Nexus created).

    The file as it was before the install (the recorded insertions taken out, byte for byte) is
    used only when it holds exactly what taking Nexus's entries out holds: the lock is a
    record anyone's commit may change, so its insertions alone never decide what is removed."""
    where = str(path)
    structural = _entries_taken_out(current, record, where)
    inserts = record.get("inserts")
    if inserts is not None and _sha(current) == record["written"]:
        original = config_json.undo(current, [(int(o), str(t)) for o, t in inserts])
        if (
            original is not None
            and (_sha(original) == record["original_sha"] or record["created_file"])
            and _same_document(original, structural, record, where)
        ):
            return None if record["created_file"] and not original.strip() else original
    return structural


def _same_document(
    original: str, structural: str | None, record: dict[str, Any], where: str
) -> bool:
    """Whether the restored file reads as the file with Nexus's entries taken out."""
    if structural is None:  # the file Nexus created goes: so must the restored one be empty
        return not original.strip()
    fmt = record.get("format", "json")
    try:
        if fmt == "toml":
            return config_toml.parse(original, where) == config_toml.parse(structural, where)
        if fmt == "block":
            return original == structural
        jsonc = fmt == "jsonc"
        if not original.strip():
            return not config_json.parse(structural, where, jsonc=jsonc)
        return config_json.parse(original, where, jsonc=jsonc) == config_json.parse(
            structural, where, jsonc=jsonc
        )
    except NexusError:  # it does not read as a document: not what Nexus left
        return False


def _entries_taken_out(current: str, record: dict[str, Any], where: str) -> str | None:
    """``current`` with the lock's (checked) entries taken out (None: the file Nexus created,
    left empty, goes)."""
    fmt = record.get("format", "json")
    if fmt == "block":
        return managed_block.remove_block(current, record["block"])
    if fmt == "toml":
        after = config_toml.remove(current, record["entries"], record["created"], where)
        empty = not config_toml.parse(after, where)
    else:
        jsonc = fmt == "jsonc"
        after = config_json.remove(
            current, record["entries"], record["created"], where, jsonc=jsonc
        )
        empty = not config_json.parse(after, where, jsonc=jsonc)
    if record.get("created_file") and empty and _sha(after) != _sha(current):
        return None
    return after


def _drop_if_empty(root: Path, folder: Path) -> None:
    """Remove a project's client folder (``.claude``) that removing Nexus's file left empty: the
    install made it (an empty one of yours is no different to the client)."""
    if folder == root:
        return
    with contextlib.suppress(OSError):
        safe_path.rmdir(root, folder)


def apply(plan: Plan) -> None:
    """Write every change (after checking nothing moved since planning), then the lock (0600)."""
    if not plan.changes and not plan.rewrite_lock:
        return
    lock_path = plan.scope.lock_path
    # a project's files and lock: every folder from its root opened without following links
    root = None if plan.scope.is_global else plan.scope.root
    if root is None:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
    else:
        fs.require_directory(lock_path.parent, what="folder", root=root)
    with fs.locked(lock_path.with_name(lock_path.name + ".lck"), root=root):
        for change in plan.changes:
            if _read(change.path) != change.before:
                raise ConflictError(f"{change.path} changed while Nexus was planning; run again")
        for change in plan.changes:
            where = root or change.path.parent
            if change.after is None:
                safe_path.unlink(where, change.path, missing_ok=False)
                if root is not None:
                    _drop_if_empty(root, change.path.parent)
                continue
            if root is None:
                change.path.parent.mkdir(parents=True, exist_ok=True)
            else:
                fs.require_directory(change.path.parent, what="folder", root=root)
            mode = PRIVATE if change.before is None and plan.scope.is_global else None
            fs.atomic_write(change.path, change.after, mode=mode, root=root)
        lock = plan.lock_after
        if lock["clients"]:
            text = jsonio.dumps(lock, indent=2, sort_keys=True, ascii_only=True) + "\n"
            fs.atomic_write(lock_path, text, mode=PRIVATE, root=root)
        else:
            safe_path.unlink(root or lock_path.parent, lock_path)
