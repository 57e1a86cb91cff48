"""Finding the Nexus project a command runs in, and creating ``.nexus/``.

Discovery reads ``.git`` entries directly (no GitPython, no subprocess) so it stays cheap: from
any subdirectory, and from inside a linked worktree (whose ``.git`` file points at
``<common>/worktrees/<name>``), the project is the main repository's top level.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from nexus_cli import fs, project_id, safe_path
from nexus_cli.errors import CwdGoneError, NotAProjectError

NEXUS_DIR = ".nexus"
CONFIG_FILE = "config.yaml"
TASKS_FILE = "tasks.jsonl"
STATE_DIR = "state"
WORKTREES_DIR = "worktrees"

GITIGNORE_LINES = (
    "# Managed by nexus: local state stays out of git; config.yaml and tasks.jsonl are shared.",
    "worktrees/",
    "state/",
    "*.db",
    "*.db-wal",
    "*.db-shm",
    "*.db-journal",
)

DEFAULT_CONFIG = """\
# Nexus project configuration (shared through git).
version: 1
tasks:
  # Require at least one verification gate on every task.
  require_gate: false
  # Send tasks whose gates pass to `review` instead of `done`.
  require_review: false
workspaces:
  # Host interface that published container ports bind to.
  bind_address: 127.0.0.1
"""

# The ids that Docker objects of a project still carry (see :meth:`Project.project_id`).
IdsInUse = Callable[["Project"], list[str]]
# Set-up a capability needs at `nexus init` time (the task merge driver, for example): it receives
# the project and returns the paths it changed.
InitHook = Callable[["Project"], list[str]]


class Project:
    """A git repository that Nexus works in."""

    __slots__ = ("_project_id", "git_common_dir", "here", "root")

    def __init__(self, root: Path, git_common_dir: Path, here: Path | None = None) -> None:
        self.root = root
        self.git_common_dir = git_common_dir
        self.here = here  # the folder the project was found from (resolved), if known
        self._project_id: str | None = None

    @property
    def nexus_dir(self) -> Path:
        return self.root / NEXUS_DIR

    @property
    def config_path(self) -> Path:
        return self.nexus_dir / CONFIG_FILE

    @property
    def state_dir(self) -> Path:
        """Local, untracked state (databases, locks, the project id)."""
        return self.nexus_dir / STATE_DIR

    @property
    def worktrees_dir(self) -> Path:
        return self.nexus_dir / WORKTREES_DIR

    def worktree_at(self, path: Path) -> str | None:
        """The name of the worktree folder ``path`` lies in (``None`` outside every worktree)."""
        try:
            rel = path.resolve().relative_to(self.worktrees_dir.resolve())
        except ValueError:
            return None
        return rel.parts[0] if rel.parts else None

    @property
    def checkout(self) -> Path:
        """The working tree the command was started in: the workspace's worktree when
        :attr:`here` lies in one (what `persona add` there installs into), else the root."""
        name = None if self.here is None else self.worktree_at(self.here)
        return self.root if name is None else self.worktrees_dir / name

    def machine_key(self) -> str:
        """This project on this machine: a hash of the real path of its git folder.

        Keys what the user decided about the project outside the repository (gate approvals,
        exposure): every worktree of one repository shares its git folder, so a workspace
        shares the project's; another clone (or a repository that copies this one's
        ``.nexus/``) does not.
        """
        real = os.path.realpath(self.git_common_dir)
        return hashlib.sha256(real.encode("utf-8", "surrogateescape")).hexdigest()[:24]

    @property
    def is_initialized(self) -> bool:
        return self.config_path.is_file()

    def project_id(self, *, in_docker: IdsInUse | None = None) -> str:
        """A per-clone unique id used to name Docker objects; created on first use.

        Stored in the untracked state folder so that two clones of one repository (or two
        repositories with the same folder name) never share containers, networks or volumes.
        Validated when read back, then kept on this object: the file is read once. Workspace
        code asks through :func:`nexus_cli.workspaces.handle.project_id_of`, which passes
        ``in_docker`` (see :mod:`nexus_cli.project_id`).
        """
        if self._project_id is None:
            found = None if in_docker is None else functools.partial(in_docker, self)
            self._project_id = project_id.get(self, found)
        return self._project_id

    def require_initialized(self) -> Project:
        if not self.is_initialized:
            raise NotAProjectError(
                f"{self.root} has no .nexus/ folder", hint="run `nexus init` first"
            )
        return self

    def __repr__(self) -> str:
        return f"Project({str(self.root)!r})"


def _read_gitdir_file(dotgit: Path) -> Path | None:
    try:
        text = dotgit.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("gitdir:"):
            target = Path(line[len("gitdir:") :].strip())
            return target if target.is_absolute() else (dotgit.parent / target).resolve()
    return None


def _common_dir(gitdir: Path) -> Path:
    commondir = gitdir / "commondir"
    try:
        rel = commondir.read_text().strip()
    except OSError:
        return gitdir
    path = Path(rel)
    return path if path.is_absolute() else (gitdir / path).resolve()


def _nexus_worktree_owner(folder: Path) -> Path | None:
    """The repository whose ``.nexus/worktrees/`` holds ``folder``, if it does.

    A workspace's worktree is a folder a container may write to, its ``.git`` file included
    (docs/security.md), so the project is found from where the worktree lives instead.
    """
    worktrees = folder.parent
    if worktrees.name != WORKTREES_DIR or worktrees.parent.name != NEXUS_DIR:
        return None
    root = worktrees.parent.parent
    return root if (root / ".git").is_dir() and not (root / ".git").is_symlink() else None


def current_dir() -> Path:
    """The current directory; :class:`CwdGoneError` when it was deleted under us."""
    try:
        return Path.cwd()
    except FileNotFoundError:
        raise CwdGoneError() from None


def find_project(start: Path | None = None) -> Project:
    """Return the project containing ``start`` (default: the current directory).

    Raises :class:`NotAProjectError` outside a git repository.
    """
    here = (start or current_dir()).resolve()
    for folder in (here, *here.parents):
        dotgit = folder / ".git"
        if dotgit.is_dir():
            return Project(folder, dotgit, here)
        if dotgit.is_file():
            owner = _nexus_worktree_owner(folder)
            if owner is not None:  # ours: found from where it lives, not from what its .git says
                return Project(owner, owner / ".git", here)
            gitdir = _read_gitdir_file(dotgit)
            if gitdir is None:
                continue
            common = _common_dir(gitdir)
            root = common.parent if common.name == ".git" else folder
            return Project(root, common, here)
    raise NotAProjectError(
        f"not a git repository: {here}",
        hint="run `git init` first (Nexus works inside a git repository)",
    )


def _merge_gitignore(root: Path, path: Path) -> bool:
    try:
        existing = safe_path.read_bytes(root, path).decode("utf-8", errors="surrogateescape")
    except FileNotFoundError:
        existing = ""
    have = set(existing.splitlines())
    missing = [line for line in GITIGNORE_LINES if line not in have]
    if not missing:
        return False
    prefix = existing if not existing or existing.endswith("\n") else existing + "\n"
    text = prefix + "\n".join(missing) + "\n"
    fs.atomic_write(path, text.encode("utf-8", errors="surrogateescape"), root=root)
    return True


def init_project(
    start: Path | None = None, *, hooks: Iterable[InitHook] = ()
) -> tuple[Project, list[str]]:
    """Create ``.nexus/`` at the repository's top level, then run ``hooks``. Idempotent.

    ``hooks`` are the set-up steps of capabilities above this module (the command passes the task
    merge driver's). Returns the project and the list of paths (relative to the root) that were
    created or changed.
    """
    project = find_project(start)
    root = project.root
    changed: list[str] = []
    nexus_dir = project.nexus_dir
    try:  # every path below the repository is opened folder by folder, links refused
        with safe_path.open_dir(root, nexus_dir):
            pass
    except FileNotFoundError:
        fs.require_directory(nexus_dir, what="folder", root=root)
        changed.append(f"{NEXUS_DIR}/")
    try:
        safe_path.read_bytes(root, project.config_path)
    except FileNotFoundError:
        fs.atomic_write(project.config_path, DEFAULT_CONFIG, root=root)
        changed.append(f"{NEXUS_DIR}/{CONFIG_FILE}")
    if _merge_gitignore(root, nexus_dir / ".gitignore"):
        changed.append(f"{NEXUS_DIR}/.gitignore")
    for hook in hooks:
        changed.extend(hook(project))
    return project, changed
