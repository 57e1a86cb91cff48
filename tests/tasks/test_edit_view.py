"""The YAML view of `nexus task edit`: round trip, errors that point at the line, the diff."""

from __future__ import annotations

import pytest

from nexus_cli.errors import ConfigError
from nexus_cli.tasks import edit_view
from nexus_cli.tasks.model import Gate, Task


def _task() -> Task:
    return Task(
        "nx-abcd",
        'Parse: the "config" file',
        description="first line\nsecond line",
        labels=["b", "a"],
        depends_on=["nx-dep1"],
        gates=[Gate("pytest -q", 30, None)],
        parent="nx-epic",
    )


def test_the_view_reads_back_as_the_task_and_changes_nothing() -> None:
    task = _task()
    text = edit_view.render(task)
    assert text.startswith("# nexus task edit nx-abcd")
    view = edit_view.read(text, "nx-abcd.yaml")
    assert view == edit_view.view_of(task)
    assert edit_view.changes(view, view) == {}


def test_only_what_the_person_changed_is_returned() -> None:
    text = edit_view.render(_task())
    before = edit_view.read(text, "x.yaml")
    edited = (
        text.replace("priority: 2", "priority: 0")
        .replace("- a\n", "- c\n")
        .replace("parent: nx-epic", "parent: null")
        .replace("timeout_s: 30", "timeout_s: 60")
    )
    assert edit_view.changes(before, edit_view.read(edited, "x.yaml")) == {
        "priority": 0,
        "parent": "",
        "add_labels": ["c"],
        "remove_labels": ["a"],
        "gates": [Gate("pytest -q", 60, None)],
    }


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("priority: 2", "priority: 9", "line 6: priority: must be a whole number 0-4, not 9"),
        ("priority: 2", "priority: true", "line 6: priority: must be a whole number 0-4"),
        ("parent: nx-epic", "parent: ../x", "line 7: parent:"),
        ("- nx-dep1", "- 'a b'", "depends_on:"),
        ("  timeout_s: 30", "  timeout_s: 0", "gates: gate 1: timeout_s must be 1-"),
        ("  service: null", "  service: null\n  shell: bash", "gate 1 has unknown fields: shell"),
        ("title: ", "titel: ", "unknown field 'titel'"),
        ("title: ", "title: a: ", "invalid YAML at line 5"),
    ],
)
def test_a_mistake_names_the_file_and_the_line(old: str, new: str, message: str) -> None:
    text = edit_view.render(_task())
    assert old in text
    with pytest.raises(ConfigError) as caught:
        edit_view.read(text.replace(old, new, 1), "nx-abcd.yaml")
    assert caught.value.message.startswith("nx-abcd.yaml: ")
    assert message in caught.value.message


def test_a_removed_field_is_refused_not_taken_as_empty() -> None:
    text = edit_view.render(_task()).replace("title: ", "# title: ")
    with pytest.raises(ConfigError, match="title: is missing"):
        edit_view.read(text, "x.yaml")
