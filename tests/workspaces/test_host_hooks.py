"""Running host hooks: real ``sh`` processes, their environment, time limit and process group."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from nexus_cli.errors import ConfigError, NexusError
from nexus_cli.workspaces.host_hooks import HostHook, HostHooks, parse, run
from nexus_cli.workspaces.progress import Silent


def test_parse_accepts_a_command_or_a_list_and_keeps_the_order() -> None:
    hooks = parse({"pre_create": "a", "post_create": ["b", "c"]}, "c.yaml", "user")
    assert hooks == [
        HostHook("pre_create", "a", "user"),
        HostHook("post_create", "b", "user"),
        HostHook("post_create", "c", "user"),
    ]
    assert parse(None, "c.yaml", "user") == []


@pytest.mark.parametrize(
    "section", [{"pre_create": ""}, {"pre_create": "a\x00b"}, {"pre_create": ["x"] * 21}]
)
def test_parse_refuses_empty_binary_and_too_many(section: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        parse(section, "c.yaml", "project")


def test_run_passes_the_environment_and_runs_in_the_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    hooks = HostHooks((HostHook("post_create", f'echo "$A $(pwd)" > {out}', "user"),))
    progress = Silent()
    run(hooks, "post_create", cwd=tmp_path, env={"A": "value"}, progress=progress)
    assert out.read_text() == f"value {tmp_path}\n"
    run(hooks, "pre_delete", cwd=tmp_path, env={}, progress=progress)  # no hook: nothing runs


def test_a_hook_over_its_time_limit_is_ended_with_its_children(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    command = f"sleep 300 & echo $! > {pids}; wait"
    hooks = HostHooks((HostHook("pre_create", command, "user"),), timeout_s=1.0)
    with pytest.raises(NexusError, match="did not finish within 1s"):
        run(hooks, "pre_create", cwd=tmp_path, env={}, progress=Silent())
    child = int(pids.read_text())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the hook's background child outlived it")


def test_a_failure_shows_the_tail_escaped(tmp_path: Path) -> None:
    hooks = HostHooks((HostHook("pre_delete", "printf 'x\\033[31m\\n'; exit 2", "project"),))
    with pytest.raises(NexusError) as info:
        run(hooks, "pre_delete", cwd=tmp_path, env={}, progress=Silent())
    assert info.value.message.endswith("(project) exited with 2")
    assert info.value.hint == "x^[[31m"
