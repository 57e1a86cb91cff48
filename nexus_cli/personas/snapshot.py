"""An in-memory view of the files a plan touches: read from disk once, changed only in memory."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from nexus_cli.personas.safety import PathEscapeError, check_relative, resolve_inside


@dataclass(frozen=True)
class FileState:
    data: bytes
    mode: int  # permission bits


@dataclass(frozen=True)
class Change:
    rel: str
    before: FileState | None
    after: FileState | None

    @property
    def action(self) -> str:
        if self.before is None:
            return "create"
        if self.after is None:
            return "delete"
        return "update"


class Snapshot:
    """Files under ``root`` as the plan sees them; the disk is never written here."""

    def __init__(
        self, root: Path, *, no_symlinks: bool = False, only_under: tuple[str, ...] = ()
    ) -> None:
        self.root = root
        self.no_symlinks = no_symlinks
        self.only_under = only_under  # with --global: the assistants' folders in the home folder
        self._disk: dict[str, FileState | None] = {}
        self._now: dict[str, FileState | None] = {}

    def real(self, rel: str) -> Path:
        path = resolve_inside(self.root, rel, f"{self.root}", no_symlinks=self.no_symlinks)
        clean = check_relative(rel, f"{self.root}")
        if self.only_under and not any(
            clean == d or clean.startswith(d + "/") for d in self.only_under
        ):
            raise PathEscapeError(
                f"{self.root}: {clean} is outside {', '.join(self.only_under)}; refused",
                hint="with --global Nexus writes only into the assistants' folders",
            )
        return path

    def _load(self, rel: str) -> None:
        if rel in self._disk:
            return
        path = self.real(rel)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            state = None
        else:
            if not stat.S_ISREG(st.st_mode):
                raise IsADirectoryError(rel)
            state = FileState(path.read_bytes(), stat.S_IMODE(st.st_mode))
        self._disk[rel] = state
        self._now[rel] = state

    def get(self, rel: str) -> FileState | None:
        self._load(rel)
        return self._now[rel]

    def put(self, rel: str, state: FileState | None) -> None:
        self._load(rel)
        self._now[rel] = state

    def dir_on_disk(self, rel: str) -> bool:
        """Whether folder ``rel`` exists. With --global, a folder above the assistants' folders
        (``.config`` above ``.config/opencode``) counts as there: shared with every XDG program,
        Nexus's own config included, it is never claimed, so never pruned."""
        if any(d.startswith(rel + "/") for d in self.only_under):
            return True
        return self.real(rel).is_dir()

    def changes(self) -> list[Change]:
        return [
            Change(rel, self._disk[rel], after)
            for rel, after in sorted(self._now.items())
            if after != self._disk[rel]
        ]
