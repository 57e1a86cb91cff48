"""Hot paths load only what they use: `task ready`, `workspace list`, `stats`, `workspace create
-t bare`, shell completion and a plain command (`nexus --version`, recorded), each in a real
process; the commands that only read tasks (`ready`, `list`, `search`, `show`, `prime`) and the
agents' gate hooks load nothing that only changing a task needs (READ_SPARES below).

Each command runs in a fresh interpreter through the real entry point (recording on, as by
default), and a wrapper prints which heavy modules were loaded when it exited. What each command
needs, and so what it may load:

- docker: only a workspace command in a project that has used a Docker engine (a template with
  services); never `task ready` or `stats`, never `workspace list` of bare workspaces.
- git (GitPython): none of them (git runs as plain `git` processes through nexus_cli.git).
- sqlite_utils: never (Nexus no longer uses it; watched so that it does not come back).
- rich.table: only a table drawn on a terminal; never `--json` (even on a terminal), never text
  written to a pipe (plain columns). Rich at all: never `dashboard --json` or `--html`.

Standard-library modules (dataclasses, tempfile, pathlib, signal…) are not watched on those
commands: hand-written stand-ins for them cost more in clarity than they saved in milliseconds
(STYLE.md). A plain command is pinned whole instead (the last tests): it loads a minimal Click
app's modules, the few Nexus modules of the root and the journal, and a short list of standard
modules; the steps that need more (hashing a name, folding, auto sync, completing) load their
modules by name only when they run.
"""

from __future__ import annotations

import importlib
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

from nexus_cli import cli
from nexus_cli.commands import dashboard
from nexus_cli.mcp import hooks_start
from nexus_cli.telemetry.journal import recorder
from nexus_cli.telemetry.ship import autosync

HEAVY = ("docker", "git", "sqlite_utils", "rich.table")
# What completing does not need. (The command whose argument is completed is loaded with its
# imports, the task core included: only heavy packages are watched, as everywhere here.)
COMPLETION_SPARES = (*HEAVY, "yaml", "rich")
WRAPPER = """\
import atexit, json, os, sys

def report():
    watched = json.loads(os.environ["HOT_PATH_WATCH"])
    with open(os.environ["HOT_PATH_REPORT"], "w") as fh:
        json.dump({"code": code, "loaded": [m for m in watched if m in sys.modules]}, fh)

code = None
atexit.register(report)
from nexus_cli.cli import main
code = main(sys.argv[1:])
"""


def _loaded(
    project: Path,
    report: Path,
    *args: str,
    tty: bool = False,
    watch: tuple[str, ...] = HEAVY,
    env: dict[str, str] | None = None,
    expect_out: str = "",
    stdin: str = "",
    codes: tuple[int | None, ...] = (0, None),  # None: Click exited (completion)
) -> list[str]:
    """The ``watch`` modules `nexus ARGS` loaded, run in ``project`` (stdout a terminal if ``tty``)."""
    full_env = {
        **os.environ,
        **(env or {}),
        "HOT_PATH_REPORT": str(report),
        "HOT_PATH_WATCH": json.dumps(watch),
    }
    cmd = [sys.executable, "-c", WRAPPER, *args]
    if tty:
        leader, follower = pty.openpty()
        try:
            subprocess.run(cmd, cwd=project, env=full_env, stdout=follower, stderr=follower)
        finally:
            os.close(follower)
            os.close(leader)
    else:
        out = subprocess.run(
            cmd, cwd=project, env=full_env, input=stdin, capture_output=True, text=True
        )
        assert expect_out in out.stdout, out
    result = json.loads(report.read_text())
    assert result["code"] in codes, (args, result)
    loaded: list[str] = result["loaded"]
    return loaded


@pytest.fixture
def project(git_repo: Path) -> Path:
    """A project with a ready task, a bare workspace, and an up-to-date telemetry database."""
    nexus = [sys.executable, "-m", "nexus_cli"]
    for args in (
        ["init"],
        ["task", "create", "Ship it", "--gate", "true"],
        ["workspace", "create", "w1"],
        ["stats", "--json"],  # the first read applies the telemetry database's migrations
    ):
        subprocess.run([*nexus, *args], cwd=git_repo, check=True, capture_output=True)
    return git_repo


@pytest.mark.parametrize(
    "args",
    [
        ["task", "ready"],
        ["task", "ready", "--json"],
        ["workspace", "list"],
        ["workspace", "list", "--json"],
        ["stats"],
        ["stats", "--json"],
    ],
    ids=" ".join,
)
def test_hot_commands_load_nothing_heavy(project: Path, tmp_path: Path, args: list[str]) -> None:
    assert _loaded(project, tmp_path / "report.json", *args) == []


# What the commands that only read tasks, and the agents' hooks, leave to the commands that change
# things: making claim owners (nexus_cli.ownership: secrets for their tokens), the lifecycle,
# trees written with a private index (nexus_cli.git_trees: tempfile), and the `.git`-in-any-
# spelling check (nexus_cli.dot_git: unicodedata). Still loaded, because they are used: git and
# proc (subprocess) for `git config user.name` when NEXUS_AGENT is unset, hashlib for the
# tasks.jsonl digest, sqlite3, and for `show` the hashing of the task id that is recorded
# (privacy: secrets for the salt).
READ_SPARES = (
    "nexus_cli.ownership",
    "nexus_cli.tasks.lifecycle",
    "nexus_cli.git_trees",
    "nexus_cli.dot_git",
    "unicodedata",
)


@pytest.mark.parametrize(
    ("args", "spares"),
    [
        (["task", "ready", "--json"], ("secrets", "tempfile", "nexus_cli.tasks.search")),
        (["task", "list", "-n", "50", "--json"], ("secrets", "tempfile", "nexus_cli.tasks.search")),
        (["task", "search", "ship", "--json"], ("secrets", "tempfile")),
        (["task", "show", "ID"], ("tempfile",)),  # the task id is recorded, hashed: secrets
        (["prime"], ("secrets",)),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else "",
)
def test_reading_tasks_loads_nothing_that_only_changes_them(
    project: Path, tmp_path: Path, args: list[str], spares: tuple[str, ...]
) -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "nexus_cli", "task", "list", "--json"],
        cwd=project, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    task = json.loads(listed)[0]["id"]
    args = [task if a == "ID" else a for a in args]
    watch = (*HEAVY, *READ_SPARES, *spares)
    assert _loaded(project, tmp_path / "report.json", *args, watch=watch) == []


# What no hook needs (each runs at every start or end of an agent's turn: benchmarks/hooks.py):
# running gates (tasks.gates) and the engine module with what it loads (extras: importlib.metadata
# and the email package), Docker names (workspaces.handle), and telemetry.db's schema, fold and
# agent-log readers (tasks.agent_ingest; only a session `nexus loop` started names its task there).
HOOK_SPARES = (
    "nexus_cli.tasks.gates",
    "nexus_cli.engine",
    "nexus_cli.extras",
    "importlib.metadata",
    "email",
    "nexus_cli.workspaces.handle",
    "nexus_cli.workspaces.records",
    "nexus_cli.tasks.agent_ingest",
    "nexus_cli.telemetry.db",
)
# ... and what only the briefing needs, which the gate hooks never print.
BRIEFING = ("nexus_cli.tasks.prime", "nexus_cli.tasks.handoff", "nexus_cli.tasks.memory")
# ... and what only `nexus task context` needs beside the hand-off: its result types.
CONTEXT_COMMAND = ("nexus_cli.tasks.context", "nexus_cli.tasks.results")


def _claimed_failing_task(project: Path) -> str:
    nexus = [sys.executable, "-m", "nexus_cli"]
    task = subprocess.run(
        [*nexus, "task", "create", "Hooked", "--gate", "false"],
        cwd=project, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    subprocess.run([*nexus, "task", "claim", task], cwd=project, check=True, capture_output=True)
    subprocess.run([*nexus, "task", "verify", task], cwd=project, capture_output=True)  # fails
    return task


@pytest.mark.parametrize("event", ["stop", "subagent-stop", "task-completed"])
def test_a_gate_hook_loads_nothing_that_only_changes_tasks(
    project: Path, tmp_path: Path, event: str
) -> None:
    """The session's task is claimed and has a gate: the hook reads its runs and approvals."""
    task = _claimed_failing_task(project)
    payload = {"session_id": "s1", "cwd": str(project), "stop_hook_active": False,
               "task_subject": f"Finish {task}"}  # fmt: skip
    watch = (*HEAVY, *READ_SPARES, "secrets", *HOOK_SPARES, *BRIEFING, *CONTEXT_COMMAND)
    env = {"NEXUS_TASK_ID": task}
    stdin = json.dumps(payload)
    codes = (2,) if event == "task-completed" else (0,)  # 2: the gate has not passed
    found = _loaded(
        project, tmp_path / "r.json", "hook", event, watch=watch, env=env, stdin=stdin, codes=codes
    )
    assert found == []


@pytest.mark.parametrize("source", ["startup", "compact"])
def test_the_session_start_hook_loads_only_the_briefing(
    project: Path, tmp_path: Path, source: str
) -> None:
    """The briefing, and after a compaction the claimed task's hand-off (its gate's failed run
    and the folder to work in), with no gate runner, engine, Docker names, telemetry.db or the
    result types of `nexus task context`."""
    task = _claimed_failing_task(project)
    payload = {"session_id": "s1", "cwd": str(project), "source": source}
    watch = (*HEAVY, *READ_SPARES, *HOOK_SPARES, *CONTEXT_COMMAND)
    stdin = json.dumps(payload)
    expect = f"# {task}: Hooked" if source == "compact" else "# Nexus session"
    found = _loaded(
        project, tmp_path / "r.json", "hook", "session-start", watch=watch, stdin=stdin,
        expect_out=expect,
    )  # fmt: skip
    assert found == []


def test_a_session_nexus_loop_started_names_its_task_in_telemetry_db(
    project: Path, tmp_path: Path
) -> None:
    """The one session start that needs telemetry.db loads it (by name: hooks_start.SESSIONS)."""
    task = _claimed_failing_task(project)
    stdin = json.dumps({"session_id": "s1", "cwd": str(project), "source": "startup"})
    env = {"NEXUS_TASK_ID": task}
    watch = ("nexus_cli.tasks.agent_ingest", "nexus_cli.engine", "importlib.metadata")
    found = _loaded(
        project, tmp_path / "r.json", "hook", "session-start", watch=watch, env=env, stdin=stdin
    )
    assert found == ["nexus_cli.tasks.agent_ingest"]


@pytest.mark.parametrize(
    "args", [["task", "ready", "--json"], ["workspace", "list", "--json"], ["stats", "--json"]]
)
def test_json_on_a_terminal_draws_no_table(project: Path, tmp_path: Path, args: list[str]) -> None:
    assert _loaded(project, tmp_path / "report.json", *args, tty=True) == []


@pytest.mark.parametrize("args", [["--json"], ["--html", "out.html"]], ids=" ".join)
def test_the_dashboard_loads_rich_only_to_draw_on_a_terminal(
    project: Path, tmp_path: Path, args: list[str]
) -> None:
    assert _loaded(project, tmp_path / "report.json", "dashboard", *args, watch=("rich",)) == []
    drawn = _loaded(project, tmp_path / "drawn.json", "dashboard", tty=True, watch=("rich",))
    assert drawn == ["rich"]


def test_a_table_on_a_terminal_loads_rich_table(project: Path, tmp_path: Path) -> None:
    """The wrapper sees what a command loads: a table drawn on a terminal needs rich.table."""
    assert _loaded(project, tmp_path / "report.json", "task", "ready", tty=True) == ["rich.table"]


def test_workspace_list_asks_docker_once_the_project_used_it(project: Path, tmp_path: Path) -> None:
    (project / ".nexus" / "state" / "engine-used").write_text("")
    assert "docker" in _loaded(project, tmp_path / "report.json", "workspace", "list", "--json")


def test_a_workspace_with_services_needs_docker(project: Path, tmp_path: Path) -> None:
    templates = project / ".nexus" / "templates"
    templates.mkdir()
    (templates / "svc.yaml").write_text("services:\n  app:\n    image: busybox\n")
    subprocess.run(
        [sys.executable, "-m", "nexus_cli", "workspace", "create", "s1", "-t", "svc", "--no-start"],
        cwd=project,
        check=True,
        capture_output=True,
    )
    assert "docker" in _loaded(project, tmp_path / "report.json", "workspace", "list", "--json")


def test_a_worktree_folder_without_a_record_makes_list_look_for_containers(
    project: Path, tmp_path: Path
) -> None:
    (project / ".nexus" / "worktrees" / "lost").mkdir()
    assert "docker" in _loaded(project, tmp_path / "report.json", "workspace", "list", "--json")


def test_completing_a_task_id_loads_nothing_heavy(project: Path, tmp_path: Path) -> None:
    env = {
        "_NEXUS_COMPLETE": "zsh_complete",
        "COMP_WORDS": "nexus task show nx-",
        "COMP_CWORD": "3",
    }
    report = tmp_path / "report.json"
    found = _loaded(project, report, watch=COMPLETION_SPARES, env=env, expect_out="Ship it")
    assert found == []


def test_completing_a_subcommand_name_loads_no_task_module(project: Path, tmp_path: Path) -> None:
    env = {"_NEXUS_COMPLETE": "zsh_complete", "COMP_WORDS": "nexus ", "COMP_CWORD": "1"}
    watch = (*COMPLETION_SPARES, "nexus_cli.commands.task", "sqlite3")
    found = _loaded(project, tmp_path / "report.json", watch=watch, env=env, expect_out="workspace")
    assert found == []


# The recording path (run after every command) is telemetry/journal/ alone: it never opens
# telemetry.db nor loads what reads it (json is the wrapper's own: tests/test_cli.py checks it).
RECORDING_SPARES = (
    *HEAVY,
    "sqlite3",
    "nexus_cli.sqlite_open",
    "nexus_cli.telemetry.db",
    "nexus_cli.telemetry.query",
    "nexus_cli.telemetry.present",
    "nexus_cli.telemetry.ship.sync",
)


def test_recording_an_invocation_loads_only_the_journal(project: Path, tmp_path: Path) -> None:
    found = _loaded(project, tmp_path / "r.json", "--version", watch=RECORDING_SPARES)
    assert found == []
    journal = Path(os.environ["NEXUS_HOME"]) / "telemetry-journal" / "events"
    assert journal.stat().st_size > 0  # it did record


def test_bare_create_loads_no_docker_gitpython_or_pyyaml(project: Path, tmp_path: Path) -> None:
    """The fixture's first create parsed config.yaml and bare.yaml; this one reads them cached."""
    watch = (*HEAVY, "yaml")
    found = _loaded(
        project, tmp_path / "r.json", "workspace", "create", "w2", "-t", "bare", watch=watch
    )
    assert found == []
    assert (project / ".nexus" / "worktrees" / "w2" / ".git").is_file()


# What `nexus --version` (recorded) may load beyond a minimal Click app's `--version`.
PLAIN_NEXUS_MODULES = {
    "nexus_cli",
    "nexus_cli.__main__",
    "nexus_cli.cli",
    "nexus_cli.errors",
    "nexus_cli.home",
    "nexus_cli.jsonio",  # the one JSON writer: an entry never holds NaN (issue 25, cause 3)
    "nexus_cli.lazy",
    "nexus_cli.long_lived",  # the lazy group imports a command's modules without the collector
    "nexus_cli.locks",
    "nexus_cli.terminal",
    "nexus_cli.telemetry",
    "nexus_cli.telemetry.journal",
    "nexus_cli.telemetry.journal.entry",
    "nexus_cli.telemetry.journal.file",
    "nexus_cli.telemetry.journal.invocation",
    "nexus_cli.telemetry.journal.recorder",
    "nexus_cli.telemetry.journal.settings",
    "nexus_cli.telemetry.ship",
    "nexus_cli.telemetry.ship.autosync",
}
# json: the journal entry; fcntl: its lock; signal: SIGTERM and Ctrl-C; contextvars: the invocation.
PLAIN_STANDARD_MODULES = {
    "_contextvars",
    "_json",
    "contextvars",
    "fcntl",
    "gc",  # built in: the entry point freezes what the import made
    "json",
    "json.decoder",
    "json.encoder",
    "json.scanner",
    "signal",
}
ALL_MODULES = """\
import atexit, os, sys

def report():
    with open(os.environ["HOT_PATH_REPORT"], "w") as fh:
        fh.write("\\n".join(sorted(sys.modules)))

atexit.register(report)
sys.argv = ["prog", "--version"]
"""
MINIMAL_CLICK = """\
import click

@click.command()
@click.version_option("1.0", prog_name="minimal")
def minimal():
    pass

minimal()
"""


def _all_modules(code: str, report: Path, cwd: Path, env: dict[str, str]) -> set[str]:
    full_env = {**env, "HOT_PATH_REPORT": str(report)}
    done = subprocess.run(
        [sys.executable, "-c", ALL_MODULES + code], cwd=cwd, env=full_env, capture_output=True
    )
    assert done.returncode == 0, done
    return set(report.read_text().split("\n"))


def _plain_extras(tmp_path: Path, env: dict[str, str]) -> set[str]:
    """The modules `nexus --version` loads that a minimal Click app's `--version` does not."""
    click_app = _all_modules(MINIMAL_CLICK, tmp_path / "click.txt", tmp_path, env)
    run = "from nexus_cli.__main__ import run\nrun()\n"
    nexus = _all_modules(run, tmp_path / "nexus.txt", tmp_path, env)
    return nexus - click_app


def test_a_plain_command_loads_only_the_root_and_the_journal(tmp_path: Path) -> None:
    """No process module, no hashing, no fold, no tempfile/pathlib/platformdirs, no completion:
    only what recording one entry needs (NEXUS_HOME set, as tests/conftest.py sets it)."""
    env = dict(os.environ)
    extras = _plain_extras(tmp_path, env)
    assert {m for m in extras if m.startswith("nexus_cli")} == PLAIN_NEXUS_MODULES
    assert {m for m in extras if not m.startswith("nexus_cli")} <= PLAIN_STANDARD_MODULES
    journal = Path(env["NEXUS_HOME"]) / "telemetry-journal" / "events"
    assert journal.stat().st_size > 0  # it did record


def test_without_nexus_home_a_plain_command_also_asks_platformdirs(tmp_path: Path) -> None:
    """The platform's data folder is platformdirs' to find (with what it imports)."""
    env = {k: v for k, v in os.environ.items() if k != "NEXUS_HOME"}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    extras = _plain_extras(tmp_path, env)
    assert "platformdirs" in extras
    assert {m for m in extras if m.startswith("nexus_cli")} == PLAIN_NEXUS_MODULES
    assert (tmp_path / "data" / "nexus" / "telemetry-journal" / "events").stat().st_size > 0


def test_auto_sync_on_but_not_due_starts_nothing(tmp_path: Path) -> None:
    home = Path(os.environ["NEXUS_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / autosync.SENTINEL).write_text("3600\n")
    (home / autosync.STAMP).write_text("")  # a sync started just now
    extras = _plain_extras(tmp_path, dict(os.environ))
    assert {m for m in extras if m.startswith("nexus_cli")} == PLAIN_NEXUS_MODULES


# Modules loaded by name, each with its loader and the function the loader calls.
LOADED_BY_NAME = [
    ("nexus_cli.telemetry.journal.recorder", recorder.PRIVACY, "hash_name"),
    ("nexus_cli.telemetry.journal.recorder", recorder.CHILD, "fold_now"),
    ("nexus_cli.telemetry.ship.autosync", autosync.START, "start"),
    ("nexus_cli.cli", cli.COMPLETION, "register_shells"),
    ("nexus_cli.mcp.hooks_start", hooks_start.SESSIONS, "name_session"),
    ("nexus_cli.commands.dashboard", dashboard.VIEW, "static"),
    ("nexus_cli.commands.dashboard", dashboard.VIEW, "screen"),
]


@pytest.mark.parametrize(("loader", "module", "function"), LOADED_BY_NAME)
def test_each_module_loaded_by_name_has_its_function(
    loader: str, module: str, function: str
) -> None:
    assert callable(getattr(importlib.import_module(module), function))


@pytest.mark.parametrize(("loader", "module", "function"), LOADED_BY_NAME)
def test_a_module_loaded_by_name_does_not_import_its_loader(
    loader: str, module: str, function: str
) -> None:
    """import-linter sees only import statements: a module loaded by name that imports its loader
    back would be an import cycle that no contract catches."""
    graph = grimp.build_graph("nexus_cli", include_external_packages=False)
    assert loader not in graph.find_upstream_modules(module)


COMPILES = """\
import atexit, os, re, sys, traceback

ours = []
_compile = re.compile

def compile(pattern, flags=0):
    caller = traceback.extract_stack(limit=2)[0].filename
    if os.sep + "nexus_cli" + os.sep in caller:
        ours.append(f"{caller}: {pattern!r}")
    return _compile(pattern, flags)

def report():
    with open(os.environ["HOT_PATH_REPORT"], "w") as fh:
        fh.write("\\n".join(ours))

re.compile = compile
atexit.register(report)
sys.argv = ["nexus", "--version"]
from nexus_cli.__main__ import run
run()
"""


def test_a_plain_command_compiles_no_pattern_of_its_own(tmp_path: Path) -> None:
    """Every command imports the error boundary's escaping (terminal.py) and the JSON module:
    their patterns are compiled by `re` when first used, not when imported (each costs about as
    much as importing a small module)."""
    report = tmp_path / "compiled.txt"
    done = subprocess.run(
        [sys.executable, "-c", COMPILES],
        cwd=tmp_path,
        env={**os.environ, "HOT_PATH_REPORT": str(report)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done
    assert done.stdout.startswith("nexus ")
    assert report.read_text() == ""
