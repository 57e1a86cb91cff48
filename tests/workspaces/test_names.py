from __future__ import annotations

import pytest

from nexus_cli.errors import UsageError
from nexus_cli.workspaces import names


@pytest.mark.parametrize("name", ["feature-auth", "bugfix_login", "v1.2", "a", "x" * 63, "9lives"])
def test_valid_names(name: str) -> None:
    assert names.validate_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "-rm",
        "a/b",
        "../x",
        "a..b",
        "Feature",
        "a b",
        "tab\tname",
        "x" * 64,
        "end.",
        "a.lock",
        "ü",
    ],
)
def test_invalid_names_are_usage_errors(name: str) -> None:
    with pytest.raises(UsageError) as info:
        names.validate_name(name)
    assert "invalid workspace name" in info.value.message
    assert info.value.hint is not None


def test_docker_names_use_project_id_not_folder() -> None:
    assert names.container_name("ab12cd34", "dev", "db") == "nexus-ab12cd34-dev-db"
    assert names.network_name("ab12cd34", "dev") == "nexus-ab12cd34-dev"
    assert names.volume_name("ab12cd34", "dev", "data") == "nexus-ab12cd34-dev-data"
    assert names.labels("ab12cd34", "dev", "db") == {
        "dev.nexus.project": "ab12cd34",
        "dev.nexus.workspace": "dev",
        "dev.nexus.managed": "true",
        "dev.nexus.service": "db",
    }
