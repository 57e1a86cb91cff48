"""The digest of a service's definition that a container carries (label ``dev.nexus.spec``):
``workspace up`` makes a running container again when the template or Compose file now defines
its service otherwise, as ``docker compose up`` recreates a changed service."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

from nexus_cli import jsonio
from nexus_cli.workspaces.handle import LABEL_SPEC
from nexus_cli.workspaces.service_model import ServiceSpec

# What does not change the container itself, left out of its digest as Compose leaves it out of
# its config hash (`ServiceHash` in docker/compose pkg/compose/hash.go: build, pull_policy,
# depends_on): the order of the start, how the image is pulled or built.
_NOT_OF_THE_CONTAINER = (
    "depends_on",
    "depends_conditions",
    "restarts_with",
    "pull_policy",
    "build",
)


def spec_digest(service: ServiceSpec) -> str:
    """A digest of the service's definition: every setting the template or Compose file gives its
    container (its image, command, environment, ports, volumes, healthcheck, resources, ...). A
    container carries the digest it was made from (:data:`LABEL_SPEC`); ``up`` makes a running
    one again when the file now says otherwise, as ``docker compose up`` recreates a changed
    service."""
    plain = _plain(service)
    for name in _NOT_OF_THE_CONTAINER:
        plain.pop(name, None)
    text = jsonio.dumps(plain, sort_keys=True, compact=True, ascii_only=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:32]


def _plain(value: Any) -> Any:
    """``value`` as JSON data, the same in every process (a set in a fixed order). A field of a
    dataclass left at its default is left out, so that a setting a later Nexus adds (with a
    default) does not change the digest of a definition that does not use it."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not _is_default(f, getattr(value, f.name))
        }
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((_plain(item) for item in value), key=repr)
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, (str, int, float)):
        return value
    return str(value)


def _is_default(f: dataclasses.Field[Any], value: Any) -> bool:
    if f.default is not dataclasses.MISSING:
        return bool(value == f.default)
    if f.default_factory is not dataclasses.MISSING:
        return bool(value == f.default_factory())
    return False


def same_spec(container: Any, service: ServiceSpec) -> bool:
    """Whether ``container`` was made from ``service``'s definition as it is now (one made
    before the label is taken to be: it is not made again for that alone)."""
    labels = (container.attrs.get("Config") or {}).get("Labels") or {}
    made_from = labels.get(LABEL_SPEC)
    return made_from is None or made_from == spec_digest(service)
