"""The digest of a service's definition that decides whether `up` makes a container again."""

from __future__ import annotations

import dataclasses

from nexus_cli.workspaces import definition_digest
from nexus_cli.workspaces.service_model import ServiceSpec


def test_a_definition_s_digest_ignores_settings_left_at_their_default() -> None:
    """A setting a later Nexus adds (with a default) leaves the digest of a definition that
    does not use it as it was: `up` after an upgrade makes no container again for that alone."""

    @dataclasses.dataclass(frozen=True)
    class Later(ServiceSpec):
        added: str = ""

    before = ServiceSpec(name="db", image="postgres:16", environment={"A": "1"})
    after = Later(name="db", image="postgres:16", environment={"A": "1"})
    assert definition_digest.spec_digest(after) == definition_digest.spec_digest(before)
    changed = Later(name="db", image="postgres:16", environment={"A": "1"}, added="x")
    assert definition_digest.spec_digest(changed) != definition_digest.spec_digest(before)
    other = ServiceSpec(name="db", image="postgres:16", environment={"A": "2"})
    assert definition_digest.spec_digest(other) != definition_digest.spec_digest(before)
    order = ServiceSpec(name="db", image="postgres:16", environment={"A": "1"}, depends_on=["x"])
    assert definition_digest.spec_digest(order) == definition_digest.spec_digest(before)
