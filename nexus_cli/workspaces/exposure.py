"""Who may widen what a workspace exposes: you, never the repository.

Published ports bind to 127.0.0.1 unless *you* say otherwise: with ``--bind-all`` or with
``workspaces.bind_address`` in your own configuration (``$NEXUS_CONFIG_HOME/config.yaml``, else
``~/.config/nexus/config.yaml``). The project's ``.nexus/config.yaml`` is repository content
(it arrives with ``git pull``), so it may only keep ports on this machine: a loopback address
there is used, anything else is ignored with a one-line notice (ignored rather than refused, so
that a teammate's commit cannot stop your workspaces from starting). docs/security.md lists
every setting that widens exposure and where each may come from.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nexus_cli.config_yaml import config_section, key_error
from nexus_cli.paths import user_config_dir

if TYPE_CHECKING:
    from nexus_cli.project import Project

LOOPBACK = "127.0.0.1"
USER_CONFIG = "config.yaml"
KEY = "workspaces.bind_address"


@dataclass(frozen=True, slots=True)
class BindChoice:
    address: str
    notice: str | None = None  # one line for the user when the repository's value was ignored


def user_config_path() -> Path:
    """Your own configuration file (not in any repository)."""
    return user_config_dir() / USER_CONFIG


def choose_bind_address(project: Project, flag: str | None = None) -> BindChoice:
    """The host address that published ports bind to, and a notice when the project's
    configuration asked for more than this machine.

    Precedence: ``flag`` (``--bind-all``), your configuration, the project's configuration (a
    loopback address only), 127.0.0.1.
    """
    if flag is not None:
        return BindChoice(flag)
    mine = _configured(user_config_path(), what="user configuration")
    theirs = _configured(project.config_path, what="project configuration")
    notice = None
    if theirs is not None and not ipaddress.ip_address(theirs).is_loopback:
        notice = (
            f"ignored {KEY}: {theirs} in {project.config_path}: a repository cannot publish "
            f"ports beyond this machine (set it in {user_config_path()} or pass --bind-all)"
        )
        theirs = None
    return BindChoice(mine or theirs or LOOPBACK, notice)


def _configured(path: Path, *, what: str) -> str | None:
    """``workspaces.bind_address`` in the YAML file ``path`` (None when the file or key is
    absent); a value that is not an IP address is a :class:`ConfigError` naming file and key."""
    section = config_section(path, "workspaces", what=what)
    if section is None or section.get("bind_address") is None:
        return None
    value = section["bind_address"]
    try:
        return str(ipaddress.ip_address(str(value)))
    except ValueError:
        raise key_error(path, KEY, f"{value!r} is not an IP address") from None
