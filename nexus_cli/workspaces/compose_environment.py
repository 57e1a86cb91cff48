"""What a Compose file's ``${VAR}`` reads: Nexus's own values, the variables of yours you name,
and the project's ``.env`` files.

A file in a repository is not the user's, so it reads only the user's environment variables the
user names (:data:`PASS_ENV`); the project's own ``.env`` values need no naming. Reading any
other variable that is set is an error naming it, never a silent empty value.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator, Mapping
from pathlib import Path

from nexus_cli import fs
from nexus_cli.errors import ConfigError
from nexus_cli.workspaces.compose_service import read_env_file

WHAT = "Compose file"

# The user's environment variables a Compose file may read, by name, comma-separated: a file in a
# repository is not the user's, and `image: registry.example/x:${GITHUB_TOKEN}` would send the
# token with the pull (docs/workspaces.md, "Your own Compose file").
PASS_ENV = "NEXUS_COMPOSE_ENV"


class HostEnvironment(Mapping[str, str]):
    """What ``${VAR}`` and ``environment: [NAME]`` read, first found first: Nexus's own values
    (the workspace's name and project id), the user's environment variables named in
    ``NEXUS_COMPOSE_ENV``, then the project's ``.env`` beside the file. Reading any other
    variable that is set in the user's environment is a :class:`ConfigError` naming it; one that
    is not set reads as unset, as in Compose (empty, or the ``${VAR:-default}``)."""

    def __init__(
        self,
        values: Mapping[str, str],
        path: Path,
        project: Mapping[str, str] | None = None,
        *,
        lenient: bool = False,
    ) -> None:
        self._values, self._project, self._path = dict(values), dict(project or {}), path
        self._lenient = lenient  # a variable it may not read reads as unset, without an error
        listed = os.environ.get(PASS_ENV, "").split(",")
        self._allowed = {name.strip() for name in listed if name.strip()}

    def __getitem__(self, key: str) -> str:
        if key in self._values:
            return self._values[key]
        if key in self._allowed and key in os.environ:
            return os.environ[key]
        if key in self._project:
            return self._project[key]
        if key not in os.environ or self._lenient:
            raise KeyError(key)
        raise ConfigError(
            f"{self._path}: reads ${key} from your environment; a {WHAT} reads only the "
            "variables you name",
            hint=f"if it may, name it: {PASS_ENV}={key} (several: comma-separated)",
        )

    def __iter__(self) -> Iterator[str]:
        allowed = [name for name in sorted(self._allowed) if name in os.environ]
        return iter(dict.fromkeys([*self._values, *allowed, *self._project]))

    def __len__(self) -> int:
        return sum(1 for _ in self)


def dot_env(
    project_root: Path, compose_dir: str, path: Path, lookup: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The ``.env`` file beside the Compose file, which Compose reads for ``${VAR}``: the
    project's own values (inside the project after symbolic links, or refused), so unlike your
    environment's they need no naming; a variable named in ``NEXUS_COMPOSE_ENV`` and set in your
    environment wins over it, as your environment wins in Compose. Its values are interpolated
    from its earlier lines, then ``lookup`` (:func:`read_env_file`)."""
    try:
        found = fs.resolve_inside(
            project_root, posixpath.join(compose_dir, ".env"), what=f"{path.parent / '.env'}"
        )
    except fs.PathEscapeError as exc:
        raise ConfigError(exc.message, hint="Compose paths must stay inside the project") from None
    return read_env_file(found, lookup) if found.is_file() else {}
