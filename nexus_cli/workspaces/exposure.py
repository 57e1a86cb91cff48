"""Who may widen what a workspace exposes: you, never the repository.

Published ports bind to 127.0.0.1 unless *you* say otherwise: with ``--bind-all`` or with
``workspaces.bind_address`` in your own configuration (``$NEXUS_CONFIG_HOME/config.yaml``, else
``~/.config/nexus/config.yaml``). The project's ``.nexus/config.yaml`` is repository content
(it arrives with ``git pull``), so it may only keep ports on this machine: a loopback address
there is used, anything else is ignored with a one-line notice (ignored rather than refused, so
that a teammate's commit cannot stop your workspaces from starting). docs/security.md lists
every setting that widens exposure and where each may come from.

A workspace's record (``.nexus/state/workspaces.json``) remembers its address for later ``up``
runs, but the record is a file in the repository's folder that a commit can carry too. So a
wider address that you chose is also remembered outside the repository
(``$NEXUS_HOME/exposure/<project key>.json``, keyed like gate approvals), and a record's wider
address is used only when that grant or your configuration says the same
(:func:`recorded_address`); otherwise ports bind to 127.0.0.1, with a notice.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nexus_cli import home_state
from nexus_cli.config_yaml import config_section, key_error
from nexus_cli.paths import user_config_dir

if TYPE_CHECKING:
    from nexus_cli.project import Project

LOOPBACK = "127.0.0.1"
USER_CONFIG = "config.yaml"
KEY = "workspaces.bind_address"
GRANTS_DIR = "exposure"
GRANTS_FORMAT = 1


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
    theirs = _configured(project.config_path, what="project configuration", root=project.root)
    notice = None
    if theirs is not None and not ipaddress.ip_address(theirs).is_loopback:
        notice = (
            f"ignored {KEY}: {theirs} in {project.config_path}: a repository cannot publish "
            f"ports beyond this machine (set it in {user_config_path()} or pass --bind-all)"
        )
        theirs = None
    return BindChoice(mine or theirs or LOOPBACK, notice)


def _configured(path: Path, *, what: str, root: Path | None = None) -> str | None:
    """``workspaces.bind_address`` in the YAML file ``path`` (None when the file or key is
    absent); a value that is not an IP address is a :class:`ConfigError` naming file and key."""
    section = config_section(path, "workspaces", what=what, root=root)
    if section is None or section.get("bind_address") is None:
        return None
    value = section["bind_address"]
    try:
        return str(ipaddress.ip_address(str(value)))
    except ValueError:
        raise key_error(path, KEY, f"{value!r} is not an IP address") from None


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


GRANTS_HINT = "move the file aside: workspaces then publish on 127.0.0.1 until created again"


def _read_grants(project: Project) -> dict[str, str]:
    """workspace name -> the wider address you chose for it (a missing file: none)."""
    grants = home_state.read(
        GRANTS_DIR, project.machine_key(), "workspaces", what="exposure", hint=GRANTS_HINT
    )
    return {str(k): v for k, v in grants.items() if isinstance(v, str)}


def _updating(project: Project) -> contextlib.AbstractContextManager[dict[str, Any]]:
    return home_state.updating(
        GRANTS_DIR,
        project.machine_key(),
        "workspaces",
        what="exposure",
        hint=GRANTS_HINT,
        header={"format": GRANTS_FORMAT},
    )


def remember_choice(project: Project, name: str, address: str) -> None:
    """You chose ``address`` for workspace ``name`` (on this machine, now): a wider one is
    remembered outside the repository so that later ``up`` runs may use it."""
    if is_loopback(address):
        return  # the default needs no grant (one left by a deleted workspace went with it)
    with _updating(project) as grants:
        grants[name] = address


def forget_choice(project: Project, name: str) -> None:
    """The workspace is gone: so is what you chose for it."""
    if not os.path.exists(home_state.document_path(GRANTS_DIR, project.machine_key())):
        return
    with _updating(project) as grants:
        grants.pop(name, None)


def recorded_address(project: Project, name: str, recorded: str) -> BindChoice:
    """The address the record of workspace ``name`` asks for, if you chose it: a loopback one,
    one remembered by :func:`remember_choice`, or your configuration's. Anything else (a record
    a commit brought) binds to 127.0.0.1, with a notice."""
    if is_loopback(recorded) or _read_grants(project).get(name) == recorded:
        return BindChoice(recorded)
    if _configured(user_config_path(), what="user configuration") == recorded:
        return BindChoice(recorded)
    return BindChoice(
        LOOPBACK,
        f"ignored bind address {recorded} in the record of workspace {name!r}: it was not "
        "chosen on this machine (publish wider with `workspace create --bind-all` or "
        f"{KEY} in {user_config_path()})",
    )
