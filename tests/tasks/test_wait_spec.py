"""The one parser of waiting gates (what a person types, an agent sends, the editor reads) and
the one check of what tasks.jsonl holds: canonical values, one-line refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nexus_cli.errors import UsageError
from nexus_cli.tasks import wait_spec


def test_each_kind_parses_to_its_canonical_command() -> None:
    assert wait_spec.parse("approval:alice") == ("approval", "approval: alice")
    assert wait_spec.parse(" approval : Alice Smith ") == ("approval", "approval: Alice Smith")
    assert wait_spec.parse("after:2026-12-24T09:00Z") == (
        "after",
        "after: 2026-12-24T09:00:00.000000Z",
    )
    assert wait_spec.parse("after: 2026-12-24T10:00+01:00")[1] == (
        "after: 2026-12-24T09:00:00.000000Z"
    )
    assert wait_spec.parse("task:AB12") == ("task", "task: nx-ab12")
    assert wait_spec.parse("task:../other repo#nx-ab12") == ("task", "task: ../other repo#nx-ab12")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("approval:", "a name must be non-empty"),
        ("approval:-rf", "must not start with a dash"),
        ("approval:a\x1bb", "control characters"),
        ("approval:" + "x" * 101, "at most 100 characters"),
        ("after:2026-12-24T09:00", "has no time zone"),
        ("after:2026-02-30T09:00Z", "is not a real date"),
        ("task:../x", "invalid task id"),
        ("task:../other#ab1", "full id"),
        ("task:../a\nb#nx-ab12", "control characters"),
        ("later:x", "is not a waiting gate"),
        ("approval alice", "is not a waiting gate"),
    ],
)
def test_bad_specs_are_one_line_usage_errors(text: str, problem: str) -> None:
    with pytest.raises(UsageError) as caught:
        wait_spec.parse(text)
    assert problem in caught.value.message and "\n" not in caught.value.message


def test_a_moment_computed_from_now_round_trips() -> None:
    soon = datetime.now(UTC) + timedelta(hours=3)
    kind, command = wait_spec.parse(f"after:{soon.strftime('%Y-%m-%dT%H:%M:%SZ')}")
    assert wait_spec.problem(kind, command) is None
    assert command.endswith(soon.strftime("%H:%M:%S.000000Z"))


@pytest.mark.parametrize(
    ("kind", "command", "problem"),
    [
        ("approval", "approval: bob", None),
        ("after", "after: 2026-12-24T09:00:00.000000Z", None),
        ("task", "task: nx-ab12", None),
        ("task", "task: /srv/repo#nx-ab12", None),
        ("sometime", "sometime: x", "unknown kind"),
        ("approval", "approval:bob", "must read 'approval: VALUE'"),
        ("approval", "true", "must read"),
        ("after", "after: 2026-12-24T09:00Z", "UTC moment"),
        ("after", "after: 2026-13-24T09:00:00.000000Z", "not a real moment"),
        ("task", "task: ab12", "not a task id"),
        ("task", "task: #nx-ab12", "repository path"),
        (["approval"], "approval: x", "unknown kind"),
    ],
)
def test_what_tasks_jsonl_holds_is_checked(kind: object, command: str, problem: str | None) -> None:
    found = wait_spec.problem(kind, command)
    assert (found is None) if problem is None else (problem in str(found))
