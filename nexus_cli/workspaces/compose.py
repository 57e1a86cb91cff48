"""A project's own Compose file, run as a workspace template.

``nexus workspace create NAME --compose compose.yaml`` (or a template with
``x-nexus.compose: compose.yaml``) reads the project's Compose file and translates it into the
template model (:class:`template_model.Template`): the same runner then starts it with Nexus's
port allocation, one network and volumes per workspace, and the trust rules of the template
format. No ``docker compose`` is needed or used.

The file is repository content, so untrusted: it is found inside the project after symlinks,
read through :mod:`nexus_cli.config_yaml`, and every key Nexus does not run is named in one
error (file and keys) instead of being dropped. ``extends`` files (:mod:`compose_extends`),
included files (:mod:`compose_include`) and ``env_file`` paths must resolve inside the project
too. :mod:`compose_keys` says which keys are supported, :mod:`compose_service` translates one
service.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nexus_cli import fs
from nexus_cli.errors import ConfigError, UsageError
from nexus_cli.workspaces import compose_include, compose_runtime
from nexus_cli.workspaces.compose_context import Context
from nexus_cli.workspaces.compose_depends import link_aliases
from nexus_cli.workspaces.compose_environment import WHAT, dot_env
from nexus_cli.workspaces.compose_extends import relative_dir
from nexus_cli.workspaces.compose_include import UNSUPPORTED_HINT
from nexus_cli.workspaces.compose_keys import PROFILE, unsupported_keys, without_extensions
from nexus_cli.workspaces.compose_service import translate
from nexus_cli.workspaces.template_model import Template
from nexus_cli.workspaces.template_parsing import check_dependencies


def load_compose(
    project_root: Path,
    relative: str,
    *,
    profiles: Sequence[str] = (),
    values: Mapping[str, str] | None = None,
    name: str = "compose",
    origin: str = "project",
    description: str = "",
    lenient_env: bool = False,
) -> Template:
    """The Compose file ``relative`` (to ``project_root``) as a template with its services.

    ``profiles`` selects the services with a ``profiles:`` list (services without one always
    run); ``values`` (``NEXUS_WORKSPACE``/``NEXUS_PROJECT_ID`` when a workspace is known) win
    over the user's environment in ``${VAR}``. ``lenient_env`` is for callers that need only
    the services' names (`exec`, `down`, `template show`): a variable the file may not read
    (:class:`HostEnvironment`) reads as unset there instead of failing.
    """
    path = compose_path(project_root, relative)
    compose_dir = relative_dir(project_root, path)
    reading = compose_include.Reading(project_root, values or {}, lenient_env)
    beside = reading.environment(path.parent / ".env", {})
    project_values = dot_env(project_root, compose_dir, path, beside)
    env = reading.environment(path, project_values)
    raw = compose_include.document(path, compose_dir, project_values, reading)
    services = raw["services"]
    if not services:
        raise ConfigError(f"{path}: services: expected a mapping with at least one service")
    problems = unsupported_keys(raw)
    if problems:
        raise ConfigError(f"{path}: not supported: {', '.join(problems)}", hint=UNSUPPORTED_HINT)
    services = {key: without_extensions(spec) for key, spec in services.items()}
    active = _select(services, profiles, path)
    files = {kind: raw[kind] for kind in ("secrets", "configs") if isinstance(raw.get(kind), dict)}
    context = Context(path, project_root, compose_dir, env, set(active), set(services), files)
    context = dataclasses.replace(context, link_aliases=link_aliases(active, context))
    specs = {
        key: translate(key, spec, dataclasses.replace(context, env=reading.envs.get(key, env)))
        for key, spec in active.items()
    }
    compose_runtime.check_aliases(specs, path)
    template = Template(name, path, origin, description, services=specs)
    check_dependencies(template)
    template.start_order()
    return template


def compose_path(project_root: Path, relative: str) -> Path:
    """The Compose file inside the project (symlinks resolved); a clear error otherwise."""
    try:
        path = fs.resolve_inside(project_root, relative, what=f"{WHAT} {relative!r}")
    except fs.PathEscapeError as exc:
        raise UsageError(exc.message, hint="give a path inside the project") from None
    if not path.is_file():
        raise UsageError(f"{WHAT} {relative!r} not found in {project_root}")
    return path


def _select(
    services: dict[str, dict[str, Any]], profiles: Sequence[str], path: Path
) -> dict[str, dict[str, Any]]:
    """The services that run: those without ``profiles`` and those in a selected profile."""
    for profile in profiles:
        if not PROFILE.match(profile):
            raise UsageError(f"{profile!r} is not a profile name")
    known = {str(p) for spec in services.values() for p in spec.get("profiles") or []}
    for profile in profiles:
        if profile not in known:
            raise UsageError(
                f"{path}: no service has the profile {profile!r}",
                hint=f"profiles in this file: {', '.join(sorted(known)) or 'none'}",
            )
    active = {
        key: spec
        for key, spec in services.items()
        if not spec.get("profiles") or set(map(str, spec["profiles"])) & set(profiles)
    }
    if not active:  # as `docker compose up` ("no service selected")
        raise UsageError(
            f"{path}: no service selected: every service has a profile",
            hint=f"choose one with --profile ({', '.join(sorted(known))})",
        )
    return active
