"""Task IDs: short, unique, growing with the project; any unique prefix resolves."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nexus_cli.project import find_project
from nexus_cli.tasks import ids
from nexus_cli.tasks.lifecycle import NewTask, create
from nexus_cli.tasks.loading import resolve
from nexus_cli.tasks.store import open_store
from tests.conftest import run_nexus
from tests.tasks.conftest import new_task, ok


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=20), st.integers(0, 200_000))
def test_candidates_are_well_formed(title: str, count: int) -> None:
    length = ids.id_length(count)
    task_id = ids.candidate(title, length)
    assert task_id.startswith(ids.ID_PREFIX)
    assert len(task_id) == len(ids.ID_PREFIX) + length
    assert set(task_id[3:]) <= set(ids.ALPHABET)


def test_digits_are_uniform() -> None:
    firsts = [ids.candidate("same", 4)[3] for _ in range(3600)]
    counts = [firsts.count(c) for c in ids.ALPHABET]
    assert max(counts) < 200 and min(counts) > 40  # expected 100 each


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(titles=st.lists(st.sampled_from(["same", "other", "x" * 40]), min_size=1, max_size=25))
def test_ids_in_a_store_are_unique(tasks_project: Path, titles: list[str]) -> None:
    store = open_store(find_project())
    try:
        before = store.count()
        made = [create(store, NewTask(title=t, no_gates=True), "alice").id for t in titles]
        assert len(set(made)) == len(made)
        assert store.count() == before + len(made)
        assert all(resolve(store, m) == m for m in made)
    finally:
        store.close()


def test_length_grows_with_the_project() -> None:
    assert ids.id_length(0) == 4
    lengths = [ids.id_length(n) for n in (10, 100, 1_000, 10_000, 100_000)]
    assert lengths == sorted(lengths) and lengths[-1] > lengths[0]
    for n in (10, 1_000, 100_000):
        assert n * n / 36 ** ids.id_length(n) < ids.COLLISION_BUDGET


def test_many_tasks_in_one_project_are_unique(tasks_project: Path) -> None:
    made = [new_task("Same title") for _ in range(30)]
    assert len(set(made)) == 30


def test_prefix_resolution(tasks_project: Path) -> None:
    made = [new_task(f"T{i}") for i in range(40)]
    target = made[0]
    assert ok("task", "show", target.upper(), "--json").json()["id"] == target
    first_chars = [m[3] for m in made]
    shared = max(set(first_chars), key=first_chars.count)
    result = run_nexus("task", "show", shared)
    if first_chars.count(shared) > 1:
        assert result.exit_code == 2
        assert "is ambiguous" in result.stderr
        for m in made:
            if m[3] == shared:
                assert m in result.stderr
    missing = run_nexus("task", "show", "nx-zzzzzzzz")
    assert missing.exit_code == 1 and "no task matches" in missing.stderr
    invalid = run_nexus("task", "show", "nx-----")  # the validator MCP arguments go through
    assert invalid.exit_code == 2 and "invalid task id" in invalid.stderr


def test_completion_source(tasks_project: Path) -> None:
    from nexus_cli.completion import candidates

    task_id = new_task("Complete me")
    assert candidates("task", "nx-") == [task_id]
    assert candidates("task", task_id[3:5]) == [task_id[3:]]
