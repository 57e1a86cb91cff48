"""Trees git writes with a private index: the worktree as it is now, or a commit, with one folder
left out (the receipts of `nexus task verify` and their offline check).

Apart from :mod:`nexus_cli.git` because a private index lives in a temporary folder: the commands
that only read git (``git config``, ``rev-parse``) load no tempfile.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from nexus_cli import git


@contextmanager
def temporary_index(
    cwd: Path, *, seed: bool = False, checkout: git.Checkout | None = None
) -> Iterator[Path]:
    """A private index file for :func:`nexus_cli.git.run`'s ``index_file``, removed afterwards.

    With ``seed`` it starts as a copy of the repository's own index (so that tracked files stay
    tracked, even ones that ``.gitignore`` names, and unchanged files are not hashed again);
    without, it starts empty. The repository's own index is never written.
    """
    with tempfile.TemporaryDirectory(prefix="nexus-index-") as folder:
        index = Path(folder) / "index"
        if seed:
            own = git.run(
                cwd, "rev-parse", "--path-format=absolute", "--git-path", "index", checkout=checkout
            ).stdout
            with suppress(FileNotFoundError):  # no index yet: start empty
                shutil.copyfile(own.strip(), index)
        yield index


def worktree_tree(cwd: Path, *, exclude: str, checkout: git.Checkout | None = None) -> str:
    """The tree id of the worktree at ``cwd`` as it is now: tracked and untracked files that are
    not ignored, the folder ``exclude`` (relative to ``cwd``) left out. Written with a temporary
    index: the repository's own index and its objects' refs are untouched (the tree's objects
    are added to the object store, like ``git stash`` does)."""
    with temporary_index(cwd, seed=True, checkout=checkout) as index:
        add = ("add", "-A", "--", ".", f":(exclude){exclude}")
        git.run(cwd, *add, index_file=index, checkout=checkout)
        _drop_from_index(cwd, exclude, index, checkout)
        return git.run(cwd, "write-tree", index_file=index, checkout=checkout).stdout.strip()


def _drop_from_index(
    cwd: Path, folder: str, index: Path, checkout: git.Checkout | None = None
) -> None:
    """Remove ``folder`` from the temporary ``index`` (``-f``: its files may differ from both
    HEAD and the worktree, as ``.nexus/tasks.jsonl`` does right after a task is closed)."""
    rm = ("rm", "-r", "--cached", "-f", "-q", "--ignore-unmatch", "--", folder)
    git.run(cwd, *rm, index_file=index, checkout=checkout)


def commit_tree_without(cwd: Path, commit: str, *, exclude: str) -> str:
    """The tree id of ``commit`` (a checked commit id) with the folder ``exclude`` removed."""
    with temporary_index(cwd) as index:
        git.run(cwd, "read-tree", "--end-of-options", commit, index_file=index)
        _drop_from_index(cwd, exclude, index)
        return git.run(cwd, "write-tree", index_file=index).stdout.strip()
