"""Workspaces on a remote Docker engine: the worktree travels in volumes, never as a bind mount.

A remote engine (:attr:`nexus_cli.engine.Endpoint.remote`) cannot see this machine's files: a bind
mount of a local path would mount whatever the remote host has at that path (usually an empty
folder the engine creates). So on a remote engine

- each worktree path a service mounts (``/workspace`` and the template's ``./path`` binds) is a
  named volume of the workspace on the engine (:func:`docker_services.worktree_volume`), filled from the worktree by
  :func:`push` (a tar stream through the API's ``put_archive`` into a helper container that is
  created, never started, with the volumes mounted);
- a bind mount of any other local path is refused (:func:`docker_services.remote_mounts`), naming
  the service and the path;
- the git dir is never sent: the worktree's ``.git`` file is left out of the stream, and no git
  data is mounted, so a container gets the files and cannot change what the host's git runs;
- :func:`pull` copies the files of the ``/workspace`` volume back into the worktree, but never over a
  local file with uncommitted changes (tracked and modified, untracked or ignored): those make it
  refuse, and nothing is written.

Direction: ``push`` (create, ``up``, ``workspace sync``) copies local files over the volume's; files
that exist only in the volume (made in the container) stay. ``pull`` (``workspace sync --pull``)
copies changed and new files back; files deleted in the container are not deleted locally.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from nexus_cli import git, safe_path
from nexus_cli.errors import ConflictError, NexusError, StateError
from nexus_cli.workspaces.docker_services import ensure_volume, worktree_volume
from nexus_cli.workspaces.image_build import image_of

if TYPE_CHECKING:
    from nexus_cli.workspaces.handle import Workspace
    from nexus_cli.workspaces.template_model import Template

SYNC_ROOT = "/nexus-sync"
MAX_PULL_FILES = 100_000


def sources(template: Template) -> list[str]:
    """The worktree paths the services see: ``.`` and every ``./path`` bind source."""
    found = ["."]
    for service in template.services.values():
        for volume in service.volumes:
            if not volume.named:
                found.append(posixpath.normpath(volume.source))
    return list(dict.fromkeys(found))


@dataclass
class SyncResult:
    """What ``workspace sync`` did: the volumes filled (push) or the files written (pull)."""

    name: str
    direction: str  # "push" or "pull"
    volumes: list[str] = field(default_factory=list)
    files: int = 0  # files sent (push) or written (pull)
    unchanged: int = 0  # pull: files equal on both sides
    skipped: list[str] = field(default_factory=list)  # pull: not regular files, or .git
    reason: str | None = None  # why nothing was synced (no services, a local engine)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "direction": self.direction,
            "volumes": list(self.volumes),
            "files": self.files,
            "unchanged": self.unchanged,
            "skipped": list(self.skipped),
            "reason": self.reason,
        }


def _helper(client: Any, workspace: Workspace, template: Template, rels: list[str]) -> Any:
    """A created (never started) container with the volumes of ``rels`` at /nexus-sync/N."""
    from docker.types import Mount

    service = next(iter(template.services.values()))
    mounted = []
    for i, rel in enumerate(rels):
        volume = ensure_volume(client, workspace, worktree_volume(rel))
        mounted.append(Mount(f"{SYNC_ROOT}/{i}", volume, type="volume"))
    return client.containers.create(
        image_of(workspace, service),
        command=["true"],
        entrypoint=[],
        labels=workspace.labels(),
        mounts=mounted,
        network_disabled=True,
    )


def _is_git(rel: str) -> bool:
    return rel == ".git" or rel.startswith(".git/")


def _pack(folder: Path, out: IO[bytes]) -> int:
    """Write ``folder`` (links kept as links, its ``.git`` left out) as a tar; the file count."""
    count = 0

    def keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        nonlocal count
        rel = posixpath.normpath(info.name)
        if _is_git(rel):
            return None
        count += info.isfile()
        info.uname = info.gname = ""
        return info

    with tarfile.open(fileobj=out, mode="w") as tar:
        tar.add(str(folder), arcname=".", recursive=True, filter=keep)
    return count


def push(client: Any, workspace: Workspace, template: Template) -> SyncResult:
    """Copy the worktree into the workspace's volumes on the engine (see the module doc)."""
    worktree = workspace.worktree
    rels = sources(template)
    result = SyncResult(workspace.name, "push")
    helper = _helper(client, workspace, template, rels)
    try:
        for i, rel in enumerate(rels):
            folder = worktree if rel == "." else safe_path.verified(worktree, rel)
            if not folder.is_dir():
                continue  # a file bind: the whole worktree volume holds it
            with tempfile.TemporaryFile() as stream:
                result.files += _pack(folder, stream)
                stream.seek(0)
                if not helper.put_archive(f"{SYNC_ROOT}/{i}", stream):
                    raise NexusError(f"the engine refused the worktree files of {rel!r}")
            result.volumes.append(workspace.volume_name(worktree_volume(rel)))
    finally:
        with contextlib.suppress(Exception):
            helper.remove(force=True)
    return result


def _local_state(workspace: Workspace) -> tuple[set[str], set[str]]:
    """(tracked files, files with uncommitted changes) of the worktree."""
    checkout = git.checkout_of(workspace.project.git_common_dir, workspace.worktree)
    listed = git.run(checkout.work_tree, "ls-files", "-z", checkout=checkout, check=False)
    tracked = {p for p in listed.stdout.split("\0") if p}
    dirty: set[str] = set()
    for line in git.status_porcelain(checkout):
        path = line[3:].split(" -> ")[-1].strip('"')
        dirty.add(path.rstrip("/"))
    return tracked, dirty


def _changed_members(
    tar: tarfile.TarFile, worktree: Path, prefix: str, result: SyncResult
) -> list[tuple[str, tarfile.TarInfo]]:
    changed = []
    for number, member in enumerate(tar):
        if number > MAX_PULL_FILES:
            raise StateError(f"more than {MAX_PULL_FILES:,} entries in the volume: not pulled")
        rel = posixpath.normpath(member.name.removeprefix(prefix).lstrip("/") or ".")
        if rel == "." or member.isdir():
            continue
        if rel.startswith("../") or _is_git(rel) or not member.isfile():
            result.skipped.append(rel)
            continue
        fh = tar.extractfile(member)
        data = fh.read() if fh is not None else b""
        try:
            same = safe_path.read_bytes(worktree, rel) == data
        except (OSError, NexusError):
            same = False
        if same:
            result.unchanged += 1
        else:
            changed.append((rel, member))
    return changed


def pull(client: Any, workspace: Workspace, template: Template) -> SyncResult:
    """Copy the ``/workspace`` volume's files back into the worktree (see the module doc)."""
    worktree = workspace.worktree
    result = SyncResult(
        workspace.name, "pull", volumes=[workspace.volume_name(worktree_volume("."))]
    )
    helper = _helper(client, workspace, template, ["."])
    try:
        with tempfile.TemporaryFile() as stream:
            chunks, _ = helper.get_archive(f"{SYNC_ROOT}/0")
            for chunk in chunks:
                stream.write(chunk)
            stream.seek(0)
            with tarfile.open(fileobj=stream, mode="r") as tar:
                changed = _changed_members(tar, worktree, "0", result)
                tracked, dirty = _local_state(workspace)
                refused = [
                    rel
                    for rel, _ in changed
                    if rel in dirty or (rel not in tracked and os.path.lexists(worktree / rel))
                ]
                if refused:
                    shown = ", ".join(refused[:5]) + (" …" if len(refused) > 5 else "")
                    raise ConflictError(
                        f"not pulling {workspace.name!r}: {len(refused)} local file(s) with "
                        f"uncommitted changes differ from the container's: {shown}",
                        hint="commit or discard the local changes, then pull again",
                    )
                for rel, member in changed:
                    fh = tar.extractfile(member)
                    data = fh.read() if fh is not None else b""
                    safe_path.write_atomic(
                        worktree, rel, data, mode=member.mode & 0o777, makedirs=True
                    )
                    result.files += 1
    finally:
        with contextlib.suppress(Exception):
            helper.remove(force=True)
    return result
