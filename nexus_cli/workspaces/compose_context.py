"""What reading one Compose service needs to know of the file around it (:class:`Context`)."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexus_cli.workspaces.service_parsing import fail


@dataclass(frozen=True)
class Context:
    path: Path  # the Compose file (for messages)
    project_root: Path
    compose_dir: str  # the file's folder, relative to the project root ("" for the root)
    env: Mapping[str, str]  # for ``environment: [NAME]`` entries without a value
    active: set[str] = field(default_factory=set)  # the services that run (profiles applied)
    defined: set[str] = field(default_factory=set)  # every service of the file
    # the file's top-level ``secrets`` and ``configs`` (compose_secrets.py)
    files: dict[str, Any] = field(default_factory=dict)
    # service -> the names other services' ``links`` give it (:func:`compose_depends.link_aliases`)
    link_aliases: dict[str, list[str]] = field(default_factory=dict)

    def inside(self, rel: str, key: str) -> str:
        """``rel`` (relative to the file's folder) as a project-relative POSIX path."""
        joined = posixpath.normpath(posixpath.join(self.compose_dir, rel))
        if rel.startswith("/") or joined == ".." or joined.startswith("../"):
            raise fail(self.path, key, "a path inside the project")
        return joined
