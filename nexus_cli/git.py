"""Git, through plain ``git`` processes: small functions with clear errors.

Shaped like pre-commit's ``git.py``. Every value that came from a user or from a file is passed
after ``--end-of-options`` (so ``--lock`` is a ref name, never an option) and branch names are
checked with ``git check-ref-format --branch`` first. A failure becomes a :class:`GitError` with
git's own message; a repository with no commit yet gets a message saying how to make one.

This is the one module that runs git; it starts it through :mod:`nexus_cli.proc` (stdin from
/dev/null, output as text with undecodable bytes replaced, the process killed and reaped when
interrupted).

**A worktree's own files are not trusted.** A workspace's containers can write its worktree,
including, through a bind mount a template adds, the ``.git`` file that says where the git dir
is. So no call lets git decide for itself which git dir and which configuration it uses:

- every call carries :data:`SAFE_CONFIG` as ``-c`` options, which outrank every config file
  (no fsmonitor, no hooks, no ssh or credential helper, no transport, no submodule recursion);
- a call on a linked worktree names its git dir with ``--git-dir``/``--work-tree``, found from
  the main repository's common dir (:func:`checkout_of`), never from the worktree's ``.git``
  file; a ``.git`` file that says otherwise is a :class:`TamperedWorktreeError`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from nexus_cli import deadlines, proc
from nexus_cli.errors import CannotStartError, CommandNotFoundError, NexusError, UsageError

FIRST_COMMIT_HINT = "make a first commit: git commit --allow-empty -m init"
VERSION_TIMEOUT_S = 10.0
TIMEOUT_S = 600.0  # any other git call: an overall bound (a stuck lock, a hung hook or filter)


class GitError(NexusError):
    category = "git"


class NoCommitError(GitError):
    """The repository has no commit yet, so nothing can be branched from it."""


class TamperedWorktreeError(GitError):
    """A linked worktree's ``.git`` file no longer names the git dir its repository gave it."""

    category = "state"


# Set on every git call (``-c`` outranks system, global, repository and worktree config): what
# would make git start a program or read a git dir that a container could have written. The
# filter, textconv and diff drivers are not listed: they are defined only in config files that
# containers cannot write (the common dir's ``config`` is mounted read-only), and Nexus never runs
# ``git diff``. docs/security.md lists each one.
SAFE_CONFIG = (
    "core.fsmonitor=false",  # a program git runs on `status`, `add`, ...
    "core.hooksPath=/dev/null",  # hooks (post-checkout on `worktree add`, ...)
    "core.sshCommand=false",
    "credential.helper=",  # an empty value clears the list
    "protocol.allow=never",  # Nexus never fetches: no transport, no upload-pack hooks
    "submodule.recurse=false",
    "safe.bareRepository=explicit",  # never discover a bare repository a container made
)


@dataclass(frozen=True, slots=True)
class Checkout:
    """A worktree and the git dir its repository says is its own (for :func:`run`)."""

    git_dir: Path
    work_tree: Path

    def args(self) -> list[str]:
        return [f"--git-dir={self.git_dir}", f"--work-tree={self.work_tree}"]


def checkout_of(common: Path, worktree: Path) -> Checkout:
    """The git dir of ``worktree`` as the repository whose common dir is ``common`` records it.

    The main worktree (whose ``.git`` is ``common`` itself) is its own checkout. A linked
    worktree's admin folder is the one under ``common/worktrees/`` whose ``gitdir`` file names
    ``worktree/.git`` (a file containers get read-only); when the worktree's ``.git`` file points
    anywhere else, :class:`TamperedWorktreeError`, and nothing of what it points at is read.
    """
    dotgit = worktree / ".git"
    if dotgit.is_dir() and not dotgit.is_symlink() and _same(dotgit, common):
        return Checkout(common, worktree)
    admin = admin_dir(common, worktree)
    if admin is None:
        raise GitError(
            f"{worktree} is not a worktree of the repository at {common.parent}",
            hint="run `git worktree prune`, then `nexus workspace repair`",
        )
    if _pointer(dotgit) != admin.resolve():
        raise TamperedWorktreeError(
            f"{dotgit} no longer points at this repository's git dir ({admin}): "
            "it was changed (by a container, a script or by hand), so Nexus does not use it",
            hint="run `nexus workspace repair` to restore it (`git worktree repair` does the same)",
        )
    return Checkout(admin, worktree)


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def admin_dir(common: Path, worktree: Path) -> Path | None:
    """The folder under ``common/worktrees/`` whose ``gitdir`` file names ``worktree/.git``."""
    want = os.path.realpath(worktree)
    try:
        entries = sorted(os.scandir(common / "worktrees"), key=lambda e: e.name)
    except OSError:
        return None
    for entry in entries:
        try:
            recorded = Path(entry.path, "gitdir").read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            continue
        if recorded and os.path.realpath(os.path.dirname(recorded)) == want:
            return Path(entry.path)
    return None


def _pointer(dotgit: Path) -> Path | None:
    """Where a ``.git`` file points (resolved), or None when it is no such file."""
    if dotgit.is_symlink() or not dotgit.is_file():
        return None
    try:
        text = dotgit.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    first = text.splitlines()[0] if text else ""
    if not first.startswith("gitdir: "):
        return None
    target = Path(first[len("gitdir: ") :])
    return (target if target.is_absolute() else dotgit.parent / target).resolve()


def _env(index_file: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):  # set by hooks that call us
        env.pop(key, None)
    if index_file is not None:  # ours, for this one call (see temporary_index)
        env["GIT_INDEX_FILE"] = str(index_file)
    env["GIT_TERMINAL_PROMPT"] = "0"
    env.setdefault("LC_ALL", "C")
    return env


def run(
    cwd: Path,
    *args: str,
    check: bool = True,
    index_file: Path | None = None,
    checkout: Checkout | None = None,
) -> proc.Completed:
    """``git ARGS`` in ``cwd``; a non-zero exit raises :class:`GitError` when ``check``.

    ``cwd`` is passed as ``git -C``, so a missing folder is git's own error. ``index_file``
    (from :func:`temporary_index`) is the index this one call reads and writes instead of the
    repository's own. ``checkout`` (from :func:`checkout_of`) names the git dir and worktree, so
    that git does not read the worktree's ``.git`` file.
    """
    where = [] if checkout is None else checkout.args()
    return _git([*where, *args], cwd=cwd, check=check, index_file=index_file)


def version() -> str:
    """``git --version``'s answer; :class:`GitError` when git is missing or does not answer."""
    return _git(["--version"], cwd=None, check=True, timeout=VERSION_TIMEOUT_S).stdout.strip()


def _git(
    args: list[str],
    *,
    cwd: Path | None,
    check: bool,
    timeout: float | None = TIMEOUT_S,
    index_file: Path | None = None,
) -> proc.Completed:
    where = [] if cwd is None else ["-C", str(cwd)]
    safe = [word for option in SAFE_CONFIG for word in ("-c", option)]
    try:
        done = proc.run(["git", *safe, *where, *args], env=_env(index_file), timeout=timeout)
    except CommandNotFoundError:
        raise GitError("git is not installed", hint="install git and try again") from None
    except CannotStartError as exc:
        raise GitError(exc.message) from None
    verb = next((a for a in args if not a.startswith("--")), args[0])
    if done.timed_out:
        left = deadlines.time_left()
        overall = timeout is None or (left is not None and left <= 0)
        within = "before the deadline of this operation" if overall else f"within {timeout:g}s"
        raise GitError(
            f"git {verb} did not finish {within}",
            hint="the repository may be locked or very large; try again",
        )
    if check and done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        message = "; ".join(line.removeprefix("fatal: ") for line in detail[-3:]) or "no output"
        raise GitError(f"git {verb} failed: {message}")
    return done


def output(cwd: Path, *args: str) -> str:
    return run(cwd, *args).stdout


# Branch names that every rule of `git check-ref-format --branch` accepts, checked without a
# process: components of letters, digits, `_`, `-` and `.` (not first), joined by single slashes;
# a component ending in `.lock`, a `..` anywhere, a trailing `.` and `HEAD` are left to git.
# tests/test_git.py checks against git itself that every name matching this is one git accepts.
_PLAIN_BRANCH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_][A-Za-z0-9_.-]*)*")


def plainly_valid_branch(name: str) -> bool:
    """Whether ``name`` is a branch name git accepts, decided without running git (may say no)."""
    return (
        _PLAIN_BRANCH.fullmatch(name) is not None
        and ".." not in name
        and not name.endswith(".")
        and ".lock/" not in f"{name}/"
        and name != "HEAD"
    )


def check_branch_name(cwd: Path, name: str) -> str:
    """``name`` if git accepts it as a new branch name, else :class:`UsageError`."""
    if name.startswith("-") or not name:
        raise UsageError(f"invalid branch name {name!r}", hint="branch names cannot start with '-'")
    if plainly_valid_branch(name):
        return name
    proc = run(cwd, "check-ref-format", "--branch", name, check=False)
    if proc.returncode != 0:
        raise UsageError(f"invalid branch name {name!r}", hint="see `git help check-ref-format`")
    return name


def has_commit(cwd: Path) -> bool:
    return (
        run(cwd, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False).returncode == 0
    )


def require_commit(cwd: Path) -> None:
    if not has_commit(cwd):
        raise NoCommitError(
            "this repository has no commit yet: make one first", hint=FIRST_COMMIT_HINT
        )


def head_and_branch(cwd: Path, branch: str) -> tuple[str, str | None]:
    """HEAD's commit id and ``refs/heads/BRANCH``'s (``None`` when absent), from one git process.

    :class:`NoCommitError` when HEAD names no commit yet. ``branch`` must be a checked name.
    """
    ref = f"refs/heads/{branch}"
    # `show-ref --verify` prints each ref that exists in order and stops at the first missing one.
    proc = run(cwd, "show-ref", "--verify", "--end-of-options", "HEAD", ref, check=False)
    found: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        oid, _, name = line.partition(" ")
        found[name] = oid
    head = found.get("HEAD")
    if head is None:
        require_commit(cwd)  # says "no commit yet", or raises git's own message below
        raise GitError(f"git show-ref failed: {proc.stderr.strip() or 'no output'}")
    return head, found.get(ref)


def resolve_commit(cwd: Path, ref: str, *, option: str = "--from") -> str:
    """The commit id ``ref`` names (a branch, tag or id); a clear error when it names none
    (whose hint names ``option``, the flag the user gave it with)."""
    if not ref or any(ord(ch) < 32 for ch in ref):
        raise UsageError(f"invalid git revision {ref!r}")
    proc = run(
        cwd,
        "rev-parse",
        "--verify",
        "--quiet",
        "--end-of-options",
        f"{ref}^{{commit}}",
        check=False,
    )
    if proc.returncode != 0:
        require_commit(cwd)
        raise UsageError(
            f"{ref!r} does not name a commit in this repository",
            hint=f"pass a branch, tag or commit id to {option}",
        )
    return proc.stdout.strip()


def branch_exists(cwd: Path, branch: str) -> bool:
    proc = run(
        cwd,
        "show-ref",
        "--verify",
        "--quiet",
        "--end-of-options",
        f"refs/heads/{branch}",
        check=False,
    )
    return proc.returncode == 0


def branch_commit(cwd: Path, branch: str) -> str | None:
    proc = run(
        cwd,
        "rev-parse",
        "--verify",
        "--quiet",
        "--end-of-options",
        f"refs/heads/{branch}",
        check=False,
    )
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def count_commits(cwd: Path, exclude: str, include: str) -> int:
    """Commits reachable from ``include`` and not from ``exclude`` (both already validated refs)."""
    text = output(cwd, "rev-list", "--count", "--end-of-options", f"{exclude}..{include}")
    return int(text.strip() or 0)


def merge_message(branch: str, target: str) -> str:
    """The subject git itself writes for a merge of ``branch`` into ``target`` (``git merge
    BRANCH``: "Merge branch 'B'", with " into T" unless T is main or master, git's default
    ``merge.suppressDest``); a merge of ``refs/heads/B`` or of a commit id would say that instead."""
    into = "" if target in ("main", "master") else f" into {target}"
    return f"Merge branch '{branch}'{into}"


def ignored_matching(cwd: Path, patterns: Path) -> list[str]:
    """Untracked files that git ignores in ``cwd`` *and* that match the ``.gitignore``-syntax
    ``patterns`` file, relative to ``cwd``, sorted."""

    def listed(*how: str) -> set[str]:
        text = output(cwd, "ls-files", "-z", "--others", "--ignored", *how)
        return {name for name in text.split("\0") if name}

    return sorted(listed("--exclude-standard") & listed(f"--exclude-from={patterns}"))


def status_porcelain(checkout: Checkout) -> list[str]:
    """``git status --porcelain`` lines of ``checkout``. A submodule counts when its commit
    changed, not for edits inside it: that would run git in it, on its own ``.git`` file."""
    proc = run(
        checkout.work_tree,
        "status",
        "--porcelain",
        "--ignore-submodules=dirty",  # no `git status` inside a submodule (its .git file)
        check=False,
        checkout=checkout,
    )
    if proc.returncode != 0:
        return []
    return [line for line in proc.stdout.splitlines() if line.strip()]


def worktree_add(cwd: Path, path: Path, *, branch: str, new_from: str | None) -> None:
    """Check out ``branch`` at ``path``; with ``new_from`` (a commit id) create the branch there."""
    check_branch_name(cwd, branch)
    if new_from is not None:
        run(cwd, "worktree", "add", "-b", branch, "--end-of-options", str(path), new_from)
    else:
        run(cwd, "worktree", "add", "--end-of-options", str(path), branch)


def worktree_list(cwd: Path) -> str:
    return output(cwd, "worktree", "list", "--porcelain")


def worktree_remove(cwd: Path, path: Path) -> None:
    run(cwd, "worktree", "remove", "--force", "--end-of-options", str(path))


def worktree_unlock(cwd: Path, path: Path) -> None:
    run(cwd, "worktree", "unlock", "--end-of-options", str(path))


def worktree_repair(cwd: Path, path: Path) -> None:
    run(cwd, "worktree", "repair", "--end-of-options", str(path))


def worktree_prune(cwd: Path) -> None:
    run(cwd, "worktree", "prune")


def delete_branch(cwd: Path, branch: str, *, force: bool) -> None:
    check_branch_name(cwd, branch)
    run(cwd, "branch", "-D" if force else "-d", "--end-of-options", branch)


def common_dir(cwd: Path) -> Path:
    text = output(cwd, "rev-parse", "--path-format=absolute", "--git-common-dir").strip()
    return Path(text)


def config_value(cwd: Path, key: str) -> str | None:
    """The value of ``git config KEY`` as git resolves it here, or None when it is not set."""
    done = run(cwd, "config", "--get", "--end-of-options", key, check=False)
    if done.returncode == 1:  # not set
        return None
    if done.returncode != 0:
        detail = done.stderr.strip().removeprefix("fatal: ") or "no output"
        raise GitError(f"git config failed: {detail}")
    return done.stdout.rstrip("\n")


def head_commit(cwd: Path, checkout: Checkout | None = None) -> str | None:
    """HEAD's commit id, or None in a repository without a commit."""
    verify = ("rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    done = run(cwd, *verify, check=False, checkout=checkout)
    return done.stdout.strip() or None if done.returncode == 0 else None


def commits_touching(cwd: Path, path: str, *, since: str | None = None) -> list[str]:
    """Commits reachable from HEAD that changed ``path``, newest first; with ``since`` (a
    checked commit id) only those not reachable from it."""
    spec = "HEAD" if since is None else f"{since}..HEAD"
    text = output(cwd, "log", "--format=%H", "--end-of-options", spec, "--", path)
    return text.split()


def file_at(cwd: Path, commit: str, path: str) -> str | None:
    """The text of ``path`` (relative to the top) in ``commit``, or None where it has none."""
    done = run(cwd, "cat-file", "blob", f"{commit}:{path}", check=False)
    return done.stdout if done.returncode == 0 else None
