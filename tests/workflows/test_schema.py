"""Workflow files are untrusted: every malformed part is refused, naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexus_cli.errors import ConfigError
from nexus_cli.workflows.schema import parse

GOOD = """\
name: rel
description: a release
vars:
  version: {required: true}
  channel: {default: stable}
stages:
  - {id: build, persona: backend, title: "Build {version}", gates: ["make build"]}
  - {id: test, persona: testing, gates: ["make test"]}
  - {id: ship, persona: devops, gates: ["true"], needs: [build, test]}
"""


def _parse(text: str, name: str = "rel.yaml") -> object:
    return parse(Path("/p/.nexus/workflows") / name, text, "project")


def test_a_good_file_with_default_chain_and_explicit_needs() -> None:
    flow = _parse(GOOD)
    assert flow.name == "rel"  # type: ignore[attr-defined]
    stages = flow.stages  # type: ignore[attr-defined]
    assert [(s.id, s.needs) for s in stages] == [
        ("build", ()),
        ("test", ("build",)),
        ("ship", ("build", "test")),
    ]
    assert stages[1].title == "test"
    assert flow.vars["version"].required and flow.vars["channel"].default == "stable"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("description: a release", "descriptoin: x"), "key 'descriptoin' is not known"),
        (("name: rel", "name: ../etc"), "invalid workflow name"),
        (("name: rel", "name: other"), "key 'name' is 'other' but the file is named rel.yaml"),
        (("persona: backend", "persona: Back/End"), "stages[0].persona: invalid persona name"),
        (("needs: [build, test]", "needs: [nope]"), "key 'stages[2].needs' names unknown stage"),
        (("needs: [build, test]", "needs: [ship]"), "key 'stages[2].needs' names the stage itself"),
        (("id: test,", "id: build,"), "key 'stages[1].id' repeats the stage id 'build'"),
        (('gates: ["make test"]', "gates: []"), "key 'stages[1].gates' must list at least one"),
        (('gates: ["make test"]', "gates: make test"), "key 'stages[1].gates' must be a list"),
        (("version: {required: true}", "Version: {}"), "key 'vars.Version' is not a valid"),
        (("{required: true}", "{required: yes please}"), "key 'vars.version.required' must be"),
        (("{default: stable}", "{deflt: stable}"), "key 'vars.channel.deflt' is not known"),
        (("id: build,", "id: Build!,"), "key 'stages[0].id'"),
        (('title: "Build {version}"', "title: [1]"), "key 'stages[0].title' must be text"),
        (("description: a release", "kind: outage"), "key 'kind' must be one of: incident"),
        (("description: a release", "kind: [incident]"), "key 'kind' must be one of: incident"),
        (("description: a release", "priority: 5"), "key 'priority' is '5': it must be 0"),
        (("description: a release", "priority: high"), "key 'priority' is 'high'"),
        (("description: a release", "priority: true"), "key 'priority' must be text"),
        (('gates: ["true"]', 'priority: p9, gates: ["true"]'), "key 'stages[2].priority' is 'p9'"),
    ],
)
def test_malformed_parts_are_refused_naming_file_and_key(
    change: tuple[str, str], expected: str
) -> None:
    text = GOOD.replace(*change, 1)
    assert text != GOOD
    with pytest.raises(ConfigError) as err:
        _parse(text)
    assert expected in err.value.message
    assert "/p/.nexus/workflows/rel.yaml" in err.value.message


def test_a_cycle_in_needs_is_refused() -> None:
    text = GOOD.replace('gates: ["make build"]}', 'gates: ["make build"], needs: [ship]}')
    with pytest.raises(ConfigError, match="have a cycle in their needs"):
        _parse(text)


@pytest.mark.parametrize("text", ["", "- a list", "name: rel\nstages: []\n", "a: [unclosed"])
def test_not_a_workflow(text: str) -> None:
    with pytest.raises(ConfigError, match=r"rel\.yaml"):
        _parse(text)


def test_kind_incident_marks_an_incident_workflow() -> None:
    assert _parse(GOOD).kind is None  # type: ignore[attr-defined]
    flow = _parse(GOOD.replace("description: a release", "kind: incident"))
    assert flow.kind == "incident" and flow.to_dict()["kind"] == "incident"  # type: ignore[attr-defined]


def test_priority_at_the_top_and_in_a_stage_as_number_label_or_placeholder() -> None:
    flow = _parse(
        GOOD.replace("description: a release", 'priority: "{channel}"').replace(
            'gates: ["true"]', 'priority: P0, gates: ["true"]'
        )
    )
    assert flow.priority == "{channel}"  # type: ignore[attr-defined]
    assert [s.priority for s in flow.stages] == [None, None, "P0"]  # type: ignore[attr-defined]
    assert flow.to_dict()["stages"][2]["priority"] == "P0"  # type: ignore[attr-defined]
    assert _parse(GOOD.replace("description: a release", "priority: 1")).priority == "1"  # type: ignore[attr-defined]
    assert _parse(GOOD).priority is None  # type: ignore[attr-defined]
