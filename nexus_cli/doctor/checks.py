"""What `nexus doctor` checks. Each check returns a :class:`Check`; none raises."""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from functools import partial
from importlib import metadata
from pathlib import Path

from nexus_cli import engine, extras, git, paths, sqlite_open
from nexus_cli.doctor import caches
from nexus_cli.doctor.result import Check
from nexus_cli.errors import NexusError
from nexus_cli.gpu import nvml
from nexus_cli.gpu.model import GpuUnavailableError
from nexus_cli.plural import plural
from nexus_cli.workspaces import forwards


def check_git() -> Check:
    found = shutil.which("git")
    if found is None:
        return Check("git", "fail", "git not found on PATH", True, "install git (apt install git)")
    try:
        version = git.version()
    except git.GitError as exc:
        return Check("git", "fail", f"git did not run: {exc.message}", True, "reinstall git")
    return Check("git", "ok", version or found, True)


def check_docker() -> Check:
    where = engine.current()
    host, source = where.host, where.source
    side = (
        "local"
        if not where.remote
        else f"remote ({where.kind}: worktrees are synced into volumes, nothing local is mounted)"
    )
    if where.kind == "ssh":  # reached through a socket that the user's ssh forwards (engine_ssh)
        side += f", through {shutil.which('ssh') or 'ssh'} (needed for ssh:// engines)"
    try:
        client = engine.connect(timeout=3)
        version = client.version().get("Version", "?")
        client.close()
    except NexusError as exc:
        return Check("docker", "warn", exc.message, False, exc.hint)
    except Exception as exc:
        return Check("docker", "warn", f"{type(exc).__name__}: {exc}", False, "check the engine")
    return Check("docker", "ok", f"engine {version} at {host} ({source}), {side}", False)


def check_forwards() -> Check:
    """The recorded port forwards of workspaces on remote engines: running, or stale."""
    try:
        live, stale = forwards.check()
    except NexusError as exc:
        return Check("forwards", "warn", exc.message, False, exc.hint)
    if stale:
        names = sorted({f"{f.workspace} (127.0.0.1:{f.local_port})" for f in stale})
        return Check(
            "forwards",
            "warn",
            f"{plural(len(stale), 'port forward')} not running: {', '.join(names)}",
            False,
            "`nexus workspace up NAME` starts them again; `nexus workspace repair` forgets them",
        )
    if not live and not engine.current().remote:
        return Check("forwards", "ok", "none (the engine is local)", False)
    return Check("forwards", "ok", f"{plural(len(live), 'port forward')} running", False)


def check_nvml() -> Check:
    """NVML, asked through the GPU adapter (:func:`nexus_cli.gpu.nvml.opened`, the one module that
    imports ``pynvml``): how many GPUs and which driver, or why there is none."""
    try:
        with nvml.opened() as session:
            gpus = [device for device in session.read_devices() if not device.is_mig]
            driver = session.driver_version or "version unknown"
    except GpuUnavailableError as exc:
        return Check(
            "nvml",
            "warn",
            f"{exc.message}; GPU commands give CPU-side results only",
            False,
            exc.hint or "install the NVIDIA driver to use `nexus gpu status`",
        )
    return Check("nvml", "ok", f"{plural(len(gpus), 'GPU')}, driver {driver}", False)


def check_mcp() -> Check:
    """The MCP SDK (the optional ``mcp`` extra) that `nexus mcp` serves coding agents with."""
    if not extras.installed("mcp"):
        return Check(
            "mcp",
            "warn",
            "the MCP SDK is not installed; `nexus mcp` (Nexus for coding agents) needs it",
            False,
            extras.missing_hint("mcp"),
        )
    try:
        version = metadata.version("mcp")
    except metadata.PackageNotFoundError:
        version = "version unknown"
    return Check("mcp", "ok", f"MCP SDK {version}", False)


def check_writable(label: str, folder: Path) -> Check:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
            pass
    except OSError as exc:
        return Check(
            label,
            "fail",
            f"{folder} is not writable: {exc.strerror}",
            True,
            f"fix the permissions of {folder} (or point NEXUS_HOME elsewhere)",
        )
    return Check(label, "ok", str(folder), True)


def check_database(label: str, path: Path) -> Check:
    if not path.exists():
        return Check(label, "ok", f"{path} (not created yet)", True)
    try:
        conn = sqlite_open.open_read_only(path)
        try:
            result = conn.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        result = str(exc)
    if result == "ok":
        return Check(label, "ok", f"{path} (integrity ok)", True)
    return Check(
        label,
        "fail",
        f"{path} is damaged: {result}",
        True,
        f"move it aside (mv {path} {path}.broken); Nexus creates a fresh one",
    )


def check_worktree_pointers(project_root: Path) -> Check:
    """Each workspace worktree's ``.git`` file still names the git dir the repository gave it
    (a container or a script that rewrote it chooses the config git on the host runs)."""
    name = "worktrees:git-pointers"
    common = project_root / ".git"
    try:
        folders = sorted(p for p in (project_root / ".nexus" / "worktrees").iterdir())
    except OSError:
        folders = []
    tampered: list[str] = []
    for folder in folders:
        if not os.path.lexists(folder / ".git"):
            continue  # missing worktrees are `workspace list`'s to report
        try:
            git.checkout_of(common, folder)
        except git.TamperedWorktreeError:
            tampered.append(folder.name)
        except NexusError:
            continue  # not registered: `workspace list` says so
    if not tampered:
        return Check(name, "ok", f"{plural(len(folders), 'worktree')} checked", True)
    return Check(
        name,
        "fail",
        f"the .git file of {', '.join(tampered)} points at another git dir (not followed)",
        True,
        "; ".join(f"nexus workspace repair {n}" for n in tampered),
    )


def run_checks(project_root: Path | None) -> list[Check]:
    home = paths.nexus_home()
    plan: list[Callable[[], Check]] = [
        check_git,
        check_docker,
        check_forwards,
        check_nvml,
        check_mcp,
        partial(check_writable, "state:user", home),
        partial(check_database, "db:telemetry", home / paths.TELEMETRY_DB),
    ]
    if project_root is not None:
        nexus_dir = project_root / ".nexus"
        if nexus_dir.is_dir():
            plan.append(partial(check_writable, "state:project", nexus_dir))
            plan.append(partial(check_worktree_pointers, project_root))
            for db in sorted(nexus_dir.rglob("*.db")):
                if "worktrees" not in db.relative_to(nexus_dir).parts:
                    plan.append(partial(check_database, f"db:{db.name}", db))
    plan += caches.CHECKS
    results = [check() for check in plan]
    if os.environ.get("NEXUS_HOME") is None:
        user_state = next(r for r in results if r.name == "state:user")
        user_state.detail += " (platform default; set NEXUS_HOME to move it)"
    return results
