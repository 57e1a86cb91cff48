"""The merge queue's run: real git, real worktrees, gates run again on the combined tree."""

from __future__ import annotations

from pathlib import Path

from nexus_cli import fs
from nexus_cli.project import find_project
from nexus_cli.tasks import merge_queue, merge_run
from tests.conftest import git, run_nexus
from tests.tasks.conftest import new_task, ok, show


def _commit(tree: Path, name: str, text: str) -> None:
    (tree / name).write_text(text)
    git(tree, "add", name)
    git(tree, "commit", "-q", "-m", f"add {name}")


def _done_task(name: str, gate: str, files: dict[str, str]) -> tuple[str, Path]:
    """A task whose workspace ``name`` (bare: a worktree and a branch) commits ``files`` and
    whose gate then passed there; queued."""
    ok("workspace", "create", name)
    tree = Path(ok("workspace", "path", name).stdout.strip())
    for file, text in files.items():
        _commit(tree, file, text)
    task_id = new_task(f"Task {name}", "--gate", gate, "--workspace", name)
    ok("task", "start", task_id)
    ok("task", "complete", task_id)
    ok("queue", "add", task_id)
    return task_id, tree


def _worktrees(repo: Path) -> list[str]:
    return [line.split()[0] for line in git(repo, "worktree", "list").splitlines() if line]


def test_gates_run_on_the_combined_tree_then_the_target_advances(tasks_project: Path) -> None:
    # The gate leaves a mark when it sees both sides: the branch's b.txt and the target's c.txt.
    seen = tasks_project.parent / "saw-both"
    gate = f"test -f b.txt && {{ test ! -f c.txt || touch {seen}; }}"
    task_id, _ = _done_task("feat", gate, {"b.txt": "b\n"})
    assert not seen.exists()
    _commit(tasks_project, "c.txt", "c\n")  # the target moved on after the branch was made
    before_worktrees = _worktrees(tasks_project)

    result = ok("queue", "run", "--json").json()

    [outcome] = result["outcomes"]
    assert outcome["outcome"] == "merged" and outcome["gates"][0]["passed"]
    assert seen.exists()  # the gate ran on the combined tree
    head = git(tasks_project, "rev-parse", "main").strip()
    assert outcome["after"] == head
    assert {"b.txt", "c.txt"} <= set(git(tasks_project, "ls-tree", "--name-only", "main").split())
    assert (tasks_project / "b.txt").exists()  # the checked-out target's files followed
    assert _worktrees(tasks_project) == before_worktrees  # the scratch worktree is gone
    assert ok("queue", "list", "--json").json()["entries"] == []
    actions = [h["action"] for h in show(task_id)["history"]]
    assert actions[-2:] == ["merge_queued", "merge_queue"]
    assert show(task_id)["status"] == "done"


def test_the_merge_strategy_writes_git_s_own_merge_subject(tasks_project: Path) -> None:
    config = tasks_project / ".nexus" / "config.yaml"
    config.write_text("queue:\n  strategy: merge\n")
    _done_task("feat", "test -f b.txt", {"b.txt": "b\n"})
    _commit(tasks_project, "c.txt", "c\n")  # a merge commit is needed
    [outcome] = ok("queue", "run", "--json").json()["outcomes"]
    assert outcome["outcome"] == "merged"
    parents = git(tasks_project, "rev-list", "--parents", "-n", "1", "main").split()
    assert len(parents) == 3
    subject = git(tasks_project, "log", "-1", "--format=%s", "main").strip()
    assert subject == "Merge branch 'feat'"  # not "Merge commit '<id>'"


def test_a_gate_failing_only_on_the_combined_tree_sends_the_task_back(tasks_project: Path) -> None:
    task_id, _ = _done_task("feat", "test ! -f c.txt && echo clean", {"b.txt": "b\n"})
    _commit(tasks_project, "c.txt", "c\n")
    target = git(tasks_project, "rev-parse", "main").strip()

    done = run_nexus("queue", "run", "--json")
    assert done.exit_code == 3, done.stderr
    [outcome] = done.json()["outcomes"]
    assert outcome["outcome"] == "gate_failed"
    assert git(tasks_project, "rev-parse", "main").strip() == target  # never advanced
    task = show(task_id)
    assert task["status"] == "open" and task["assignee"] is None
    assert "failed" in task["notes"][-1]["text"] and "combined" in task["notes"][-1]["text"]
    runs = [h for h in task["history"] if h.get("purpose") == "merge_queue"]
    assert runs and runs[-1]["passed"] is False
    assert ok("queue", "list", "--json").json()["entries"] == []


def test_the_second_of_two_conflicting_tasks_goes_back_and_the_target_stays_whole(
    tasks_project: Path,
) -> None:
    first, _ = _done_task("one", "true", {"shared.txt": "one\n"})
    second, _ = _done_task("two", "true", {"shared.txt": "two\n"})

    done = run_nexus("queue", "run", "--json")
    assert done.exit_code == 3, done.stderr
    outcomes = {o["task"]: o for o in done.json()["outcomes"]}
    assert outcomes[first]["outcome"] == "merged"
    assert outcomes[second]["outcome"] == "conflict"
    assert "shared.txt" in outcomes[second]["detail"]
    assert git(tasks_project, "show", "main:shared.txt") == "one\n"
    assert git(tasks_project, "rev-parse", "main").strip() == outcomes[first]["after"]
    assert git(tasks_project, "status", "--porcelain", "--untracked-files=no") == ""
    assert show(second)["status"] == "open"
    assert "conflicts" in show(second)["notes"][-1]["text"]
    assert len(_worktrees(tasks_project)) == 3  # main and the two workspaces: no scratch left


def test_a_target_that_moves_while_gates_run_loses_nothing(tasks_project: Path) -> None:
    # The target is checked out nowhere: update-ref with the old value. The gate itself moves
    # the target once (as a person pushing meanwhile would); the queue tries again on top of it.
    git(tasks_project, "branch", "release", "main")
    git(tasks_project, "branch", "pushed", "main")
    extra = tasks_project.parent / "pushed"
    git(tasks_project, "worktree", "add", "-q", str(extra), "pushed")
    _commit(extra, "pushed.txt", "pushed\n")
    git(tasks_project, "worktree", "remove", str(extra))
    mark = tasks_project.parent / "moved-once"
    gate = (
        f"test -e {mark} || {{ touch {mark}; "
        f"git -C {tasks_project} update-ref refs/heads/release refs/heads/pushed; }}"
    )
    ok("workspace", "create", "feat")
    tree = Path(ok("workspace", "path", "feat").stdout.strip())
    _commit(tree, "b.txt", "b\n")
    task_id = new_task("Task", "--gate", gate, "--workspace", "feat")
    ok("task", "start", task_id)
    mark.unlink(missing_ok=True)
    ok("task", "complete", task_id)
    mark.unlink()
    ok("queue", "add", task_id, "--into", "release")

    [outcome] = ok("queue", "run", "--json").json()["outcomes"]

    assert outcome["outcome"] == "merged"
    files = set(git(tasks_project, "ls-tree", "--name-only", "release").split())
    assert {"pushed.txt", "b.txt"} <= files  # the commit pushed meanwhile is kept
    assert git(tasks_project, "rev-parse", "release").strip() == outcome["after"]


def test_a_second_runner_finds_the_queue_busy(tasks_project: Path) -> None:
    project = find_project()
    with fs.locked(project.state_dir / merge_run.RUN_LOCK, root=project.root):
        result = merge_run.run_queue(project)
    assert result.busy and result.outcomes == []
    assert merge_queue.read(project).entries == []


def test_a_gate_the_branch_rewrites_in_tasks_jsonl_is_not_the_gate_that_runs(
    tasks_project: Path,
) -> None:
    """An agent that breaks the check and rewrites its own task's gate to `true` in the
    tasks.jsonl of its branch: the queue runs the gate a person approved, on the combined tree,
    and the task goes back; the target does not move."""
    task_id, tree = _done_task("cheat", "test -f b.txt", {"b.txt": "b\n"})
    git(tree, "rm", "-q", "b.txt")
    git(tree, "commit", "-q", "-m", "break the check")
    lines = (tasks_project / ".nexus" / "tasks.jsonl").read_text().splitlines()
    rewritten = [line.replace('"test -f b.txt"', '"true"') for line in lines]
    assert rewritten != lines
    (tree / ".nexus").mkdir(exist_ok=True)
    (tree / ".nexus" / "tasks.jsonl").write_text("\n".join(rewritten) + "\n")
    git(tree, "add", "-f", ".nexus/tasks.jsonl")
    git(tree, "commit", "-q", "-m", "my gate is `true` now")
    before = git(tasks_project, "rev-parse", "main").strip()

    done = run_nexus("queue", "run", "--json")

    assert done.exit_code == 3, done.stderr
    [outcome] = done.json()["outcomes"]
    assert outcome["outcome"] == "gate_failed", outcome
    assert outcome["gates"][0]["command"] == "test -f b.txt"
    assert git(tasks_project, "rev-parse", "main").strip() == before
    assert show(task_id)["status"] != "done"
