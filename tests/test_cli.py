"""The root command: lazy loading, the error boundary, exit codes, -C, --help on every command."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import pytest

from nexus_cli import paths
from nexus_cli.cli import cli
from nexus_cli.lazy import NexusGroup
from nexus_cli.telemetry.query import patterns
from tests.conftest import fold_telemetry, nexus_exe, run_nexus

HEAVY = ("docker", "git", "pynvml", "psutil", "sqlite_utils", "yaml", "rich.table", "rich")


def _all_commands() -> list[list[str]]:
    paths: list[list[str]] = []

    def walk(group: click.Group, prefix: list[str]) -> None:
        ctx = click.Context(group)
        for name in group.list_commands(ctx):
            cmd = group.get_command(ctx, name)
            assert cmd is not None, name
            paths.append([*prefix, name])
            if isinstance(cmd, click.Group):
                assert isinstance(cmd, NexusGroup), f"{name} must use NexusGroup"
                walk(cmd, [*prefix, name])

    walk(cli, [])
    return paths


@pytest.mark.parametrize("path", _all_commands(), ids=lambda p: " ".join(p))
def test_help_on_every_command(path: list[str]) -> None:
    result = run_nexus(*path, "--help")
    assert result.exit_code == 0, result.stderr
    assert "Usage:" in result.stdout


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["version"], ["telemetry", "on"]])
def test_light_commands_import_nothing_heavy(args: list[str], tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from nexus_cli.cli import main\n"
        f"main({args!r})\n"
        f"print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "HEAVY=", out.stdout


RECORDING_MUST_NOT_LOAD = ("sqlite3", "nexus_cli.sqlite_open", "nexus_cli.telemetry.db")


@pytest.mark.parametrize("args", [["--version"], ["version"], ["no-such-command"]])
def test_recording_an_invocation_loads_no_sqlite(args: list[str], tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from nexus_cli.cli import main\n"
        f"main({args!r})\n"
        "assert 'nexus_cli.telemetry.journal.entry' in sys.modules  # it did record\n"
        f"print('LOADED=' + ','.join(m for m in {RECORDING_MUST_NOT_LOAD!r} if m in sys.modules))\n"
    )
    env = {**os.environ, "NEXUS_HOME": str(tmp_path / "home")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "LOADED=", out.stdout
    assert (tmp_path / "home" / "telemetry-journal" / "events").stat().st_size > 0


def test_version_flag() -> None:
    result = run_nexus("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("nexus ")


def test_version_json() -> None:
    result = run_nexus("version", "--json")
    assert result.exit_code == 0
    assert "nexus" in result.json()


def test_unknown_command_is_a_usage_error() -> None:
    result = run_nexus("frobnicate")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: No such command")
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_unknown_option_is_a_usage_error() -> None:
    result = run_nexus("doctor", "--nope")
    assert result.exit_code == 2
    assert "error:" in result.stderr and "--nope" in result.stderr


def test_dash_c_runs_in_another_directory(git_repo: Path, tmp_path: Path) -> None:
    result = run_nexus("-C", str(git_repo), "init", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["root"] == str(git_repo.resolve())


def test_dash_c_missing_directory() -> None:
    result = run_nexus("-C", "/definitely/not/here", "version")
    assert result.exit_code == 2
    assert "cannot change to" in result.stderr


def test_internal_error_has_no_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    import nexus_cli.commands.version as version_module

    def boom(*_: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(version_module.platform, "python_version", boom)
    result = run_nexus("version", "--json")
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    assert "kaboom" in result.stderr


def test_python_dash_m(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "nexus_cli", "--version"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert out.returncode == 0
    assert out.stdout.startswith("nexus ")


def test_ctrl_c_exits_130_and_is_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    import nexus_cli.commands.version as version_module

    def interrupted(*_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(version_module.platform, "python_version", interrupted)
    result = run_nexus("version", "--json")
    assert result.exit_code == 130
    assert "Traceback" not in result.stderr
    fold_telemetry()
    conn = sqlite3.connect(paths.telemetry_db_path())
    rows = conn.execute("SELECT exit_code, error_category, success FROM events").fetchall()
    conn.close()
    assert rows == [(130, "interrupted", 0)]


def test_nexus_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEXUS_DEBUG", "1")
    result = run_nexus("init")
    assert result.exit_code == 1
    assert "Traceback" in result.stderr and "NotAProjectError" in result.stderr


def test_json_output_is_only_json_and_plain_when_piped(git_repo: Path) -> None:
    result = run_nexus("-C", str(git_repo), "doctor", "--json")
    json.loads(result.stdout)
    table = run_nexus("-C", str(git_repo), "doctor")
    assert "\x1b[" not in table.stdout
    assert all(line == line.rstrip() for line in table.stdout.splitlines())


def test_plain_table_without_rows(capsys: pytest.CaptureFixture[str]) -> None:
    from nexus_cli.output import print_table

    print_table(("name", "state"), [])
    assert capsys.readouterr().out == "name  state\n"


def _wait_for_output(proc: subprocess.Popen[str], timeout: float = 300) -> str:
    """The first line ``proc`` prints on stdout (so it is running its command, not starting up)."""
    import selectors

    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        assert sel.select(timeout), "nexus printed nothing in time"
    return proc.stdout.readline()


def test_sigterm_exits_143_and_is_recorded_as_interrupted(tmp_path: Path) -> None:
    import signal

    proc = subprocess.Popen(
        [*nexus_exe(), "dashboard", "--watch", "--interval", "0.2"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _wait_for_output(proc)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=300)  # a hang guard, not a speed test
    finally:
        proc.kill()
    assert proc.returncode == 143, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == "terminated"
    fold_telemetry()
    conn = sqlite3.connect(paths.telemetry_db_path())
    rows = conn.execute("SELECT command, exit_code, error_category, success FROM events").fetchall()
    conn.close()
    assert rows == [("dashboard", 143, "interrupted", 0)]


@pytest.mark.parametrize("args", [["--help"], ["stats", "--json"], ["export"]])
def test_a_reader_that_went_away_ends_it_quietly_recorded_as_such(
    args: list[str], tmp_path: Path
) -> None:
    """`nexus ... | head`: the pipe's read end closed before Nexus writes (so every write fails,
    whatever the timing) ends it with exit 1 and nothing on stderr, and it is recorded as
    `pipe_closed`, not as an error that insights would ask you to fix."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [*nexus_exe(), *args], cwd=tmp_path, stdout=write_end, stderr=subprocess.PIPE, text=True
        )
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (1, "")
    fold_telemetry()
    conn = sqlite3.connect(paths.telemetry_db_path())
    rows = conn.execute("SELECT command, error_category, success FROM events").fetchall()
    conn.close()
    assert rows == [(" ".join(a for a in args if not a.startswith("-")) or None, "pipe_closed", 0)]
    seen = {"pipe_closed": (5, "2026-01-01", "2026-01-02", ["s1"])}
    assert patterns.error_patterns(seen, Counter()) == []


def test_sigterm_runs_cleanup_blocks(tmp_path: Path) -> None:
    """SIGTERM raises like Ctrl-C inside the command, so its ``finally`` blocks run."""
    import signal

    marker = tmp_path / "cleaned"
    code = (
        "import sys, time, click\n"
        "from nexus_cli import cli\n"
        "@cli.cli.command('slow')\n"
        "def slow():\n"
        "    try:\n"
        "        print('started', flush=True)\n"
        "        for _ in range(600):\n"  # a signal just before a sleep is seen at the next
        "            time.sleep(0.1)\n"
        "    finally:\n"
        f"        open({str(marker)!r}, 'w').write('yes')\n"
        "sys.exit(cli.main(['slow']))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _wait_for_output(proc) == "started\n"
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=300)  # a hang guard, not a speed test
    finally:
        proc.kill()
    assert proc.returncode == 143, stderr
    assert marker.read_text() == "yes"
    assert "Traceback" not in stderr


def test_sigterm_handler_is_restored_after_an_in_process_run() -> None:
    import signal

    before = signal.getsignal(signal.SIGTERM)
    assert run_nexus("version").exit_code == 0
    assert signal.getsignal(signal.SIGTERM) is before


# --- trust boundary: encoding, ranges, a home that is a file, unwritable or full ------------


def _one_error(stderr: str) -> str:
    """The ``error:`` line of ``stderr``; fails on a traceback or the "this is a bug" text."""
    assert "Traceback" not in stderr and "unexpected" not in stderr and "a bug" not in stderr
    lines = stderr.splitlines()
    assert lines and lines[0].startswith("error: ") and len(lines) <= 2, stderr
    assert len(lines) == 1 or lines[1].startswith("hint: ")
    return lines[0]


def _events() -> list[tuple[object, ...]]:

    fold_telemetry()
    conn = sqlite3.connect(paths.telemetry_db_path())
    try:
        return conn.execute(
            "SELECT command, exit_code, error_category, session_id FROM events ORDER BY id"
        ).fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize(
    "argv", [[b"task", b"show", b"\xff"], [b"stats", b"--since", b"7\xe9d"], [b"-C", b"\xfe\xff"]]
)
def test_undecodable_argument_bytes_are_a_usage_error(argv: list[bytes], tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable.encode(), b"-m", b"nexus_cli", *argv],
        capture_output=True,
        cwd=tmp_path,
        timeout=60,
    )
    stderr = out.stderr.decode("utf-8", "replace")
    assert out.returncode == 2, stderr
    assert _one_error(stderr).endswith("is not valid UTF-8")
    assert "hint: Nexus takes UTF-8 arguments" in stderr
    assert _events() == [(None, 2, "usage", _events()[0][3])]


def test_undecodable_session_id_is_cleaned_not_fatal(tmp_path: Path) -> None:
    env = {os.fsencode(k): os.fsencode(v) for k, v in os.environ.items()}
    env[b"NEXUS_SESSION_ID"] = b"sess\xff\x1b-1"
    out = subprocess.run(
        [sys.executable, "-m", "nexus_cli", "version"],
        capture_output=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert out.returncode == 0 and out.stderr == b""
    assert _events() == [("version", 0, None, "sess-1")]


@pytest.mark.parametrize(
    "args",
    [
        ["stats", "--since", "99999999999d"],
        ["stats", "--until", "99999999999d"],
        ["stats", "--since", "99999999999999999999999999999999999999h"],
        ["insights", "--since", "99999999999d"],
        ["export", "--since", "99999999999d"],
        ["dashboard", "--days", "99999999999"],
    ],
)
def test_out_of_range_durations_are_usage_errors(args: list[str]) -> None:
    result = run_nexus(*args)
    assert result.exit_code == 2, result.stderr
    _one_error(result.stderr)


def test_extreme_but_valid_dates_work() -> None:
    assert run_nexus("stats", "--until", "9999-12-31").exit_code == 0
    window = run_nexus("stats", "--since", "0999-01-01", "--json").json()["window"]
    assert window["since"] == "0999-01-01T00:00:00.000Z"  # four-digit years compare correctly
    purge = run_nexus("telemetry", "purge", "--older-than", "9" * 30, "--yes")
    assert purge.exit_code == 0, purge.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["stats"],
        ["export"],
        ["insights"],
        ["dashboard", "--json"],
        ["telemetry", "off"],
        ["telemetry", "purge", "--yes"],
        ["sync", "setup", "http://127.0.0.1:9"],
    ],
)
def test_nexus_home_pointing_at_a_file(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home-file"
    home.write_text("not a folder\n")
    monkeypatch.setenv("NEXUS_HOME", str(home))
    result = run_nexus(*args)
    assert result.exit_code == 2, result.stderr
    assert _one_error(result.stderr).startswith(f"error: NEXUS_HOME ({home}) is not a folder")
    assert "hint: point NEXUS_HOME at a folder" in result.stderr
    assert home.read_text() == "not a folder\n"


def test_recording_never_breaks_a_command_when_home_is_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home-file"
    home.write_text("x")
    monkeypatch.setenv("NEXUS_HOME", str(home))
    result = run_nexus("version", "--json")
    assert result.exit_code == 0 and result.stderr == ""
    assert run_nexus("telemetry", "status", "--json").exit_code == 0


@pytest.fixture
def tiny_tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Mount a 64 KiB tmpfs (root only); skip cleanly where mounting is not allowed."""
    mounted: list[Path] = []

    def mount(options: str) -> Path:
        target = tmp_path / f"mnt{len(mounted)}"
        target.mkdir()
        out = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size=64k,{options}", "tmpfs", str(target)],
            capture_output=True,
            text=True,
        )
        if out.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {out.stderr.strip()}")
        mounted.append(target)
        return target

    yield mount
    for target in mounted:
        subprocess.run(["umount", "-l", str(target)], capture_output=True)


@pytest.mark.parametrize("args", [["stats"], ["telemetry", "off"], ["sync", "setup", "http://x"]])
def test_an_unwritable_home(
    args: list[str], tiny_tmpfs: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    read_only = tiny_tmpfs("ro")
    for home in (read_only, read_only / "home"):
        monkeypatch.setenv("NEXUS_HOME", str(home))
        result = run_nexus(*args)
        assert result.exit_code == 1, result.stderr
        assert "Read-only file system" in _one_error(result.stderr)
        assert "hint: check the" in result.stderr
        assert run_nexus("version").exit_code == 0  # recording fails silently


@pytest.mark.parametrize(
    "args", [["stats"], ["export"], ["telemetry", "off"], ["sync", "setup", "http://x"]]
)
def test_a_full_disk(
    args: list[str], tiny_tmpfs: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = tiny_tmpfs("rw")
    monkeypatch.setenv("NEXUS_HOME", str(disk / "home"))
    if args[0] in ("stats", "export"):
        assert run_nexus("version").exit_code == 0  # a database exists (its WAL may shrink,
        monkeypatch.setenv("NEXUS_TELEMETRY_DISABLED", "1")  # so no recording frees space)
    (disk / "home").mkdir(exist_ok=True)
    with open(disk / "filler", "wb", buffering=0) as fh, contextlib.suppress(OSError):
        while fh.write(b"\0" * 4096):
            pass
    result = run_nexus(*args)
    assert result.exit_code == 1, result.stderr
    line = _one_error(result.stderr)
    assert "disk is full" in line or "No space left on device" in line
    assert "free some space" in result.stderr
    monkeypatch.delenv("NEXUS_TELEMETRY_DISABLED", raising=False)
    assert run_nexus("version").exit_code == 0  # recording fails silently


def test_sigterm_during_task_complete_puts_the_task_back_to_work(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's example: SIGTERM during `task complete` used to leave the task `verifying`."""
    import signal
    import time

    from tests.conftest import nexus_exe

    monkeypatch.setenv("NEXUS_AGENT", "alice")
    created = run_nexus("task", "create", "Gated", "--gate", "sleep 30", "--json")
    task_id = created.json()["id"]
    assert run_nexus("task", "start", task_id).exit_code == 0

    def status() -> dict[str, object]:
        data: dict[str, object] = run_nexus("task", "show", task_id, "--json").json()
        return data

    proc = subprocess.Popen(
        [*nexus_exe(), "task", "complete", task_id],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while status()["status"] != "verifying" and time.monotonic() < deadline:
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    assert status()["status"] == "in_progress"


def _from_a_deleted_folder(project: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    """`nexus ARGS` run from a folder the shell entered and then removed."""
    command = shlex.join([*nexus_exe(), *args])
    return subprocess.run(
        ["sh", "-c", f"mkdir gone && cd gone && rmdir ../gone && exec {command}"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "args",
    [["task", "list"], ["workspace", "list"], ["prime"], ["doctor"], ["init"]],
    ids=" ".join,
)
def test_a_deleted_working_directory_is_one_clear_error(project: Path, args: list[str]) -> None:
    """The shell's folder was removed after it entered it: one line and a hint, exit 1."""
    out = _from_a_deleted_folder(project, args)
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr and "unexpected" not in out.stderr
    assert out.stderr.splitlines() == [
        "error: the current folder no longer exists",
        "hint: cd to an existing folder (this one was deleted or moved), or pass -C DIR",
    ]


def test_a_deleted_working_directory_with_dash_c(project: Path) -> None:
    """-C DIR (absolute) still works from a deleted folder; commands without one too."""
    for args, expected in (
        (["-C", str(project), "task", "list", "--json"], "[]"),
        (["--version"], "nexus "),
    ):
        out = _from_a_deleted_folder(project, args)
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith(expected)


# Runs the real console script in a child Python that sends itself a real SIGINT at the Nth
# import made once Nexus's own code runs (the audit hook sees each import before it loads), or
# while Python shuts down after the command (an exit handler): no timing luck either way.
SIGINT_AT = """
import atexit, os, runpy, signal, sys
where, script = sys.argv[1], sys.argv[2]
count = [-1]

def hook(event, args):
    if event != "import" or where == "exit":
        return
    if count[0] < 0 and args[0] != "nexus_cli.__main__":
        return
    count[0] += 1
    if count[0] == int(where):
        os.write(2, b"sigint: " + args[0].encode() + b"\\n")
        os.kill(os.getpid(), signal.SIGINT)

def at_exit():
    if where == "exit":
        os.kill(os.getpid(), signal.SIGINT)
        sum(range(100_000))  # Python code runs: a handler would raise here
    os.write(2, b"imports: %d\\n" % count[0])

atexit.register(at_exit)
sys.addaudithook(hook)
sys.argv = [script, *sys.argv[3:]]
runpy.run_path(script, run_name="__main__")
"""


def _console_script() -> str:
    script = Path(sys.executable).with_name("nexus")
    assert script.is_file(), "install Nexus (pip install -e .) to test its console script"
    return str(script)


def _sigint_at(where: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SIGINT_AT, where, _console_script(), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )


def test_ctrl_c_while_nexus_imports_exits_130_quietly(tmp_path: Path) -> None:
    """A Ctrl-C at any import of start-up: exit 130, one line, no traceback.

    Imports 0 and 1 are Python importing ``nexus_cli.__main__`` for the console script, before
    any Nexus code runs; from import 2 on, Nexus's entry point handles SIGINT."""
    total = int(_sigint_at("-1", tmp_path, "--version").stderr.split("imports: ")[1])
    assert total > 20  # Click and the CLI
    for at in [*range(2, 12), *range(12, total + 1, 7), total]:
        out = _sigint_at(str(at), tmp_path, "--version")
        lines = out.stderr.splitlines()
        assert lines[0].startswith("sigint: "), out.stderr
        assert "Traceback" not in out.stderr, (at, out.stderr)
        assert lines[1:] == ["interrupted"], (at, out.stderr)
        assert out.returncode == 130, (at, out.stderr)
        assert out.stdout == ""


def test_ctrl_c_after_the_command_keeps_its_exit_code(tmp_path: Path) -> None:
    """Once the command returned, a Ctrl-C while Python shuts down changes nothing."""
    out = _sigint_at("exit", tmp_path, "--version")
    assert out.stdout.startswith("nexus ")
    assert "Traceback" not in out.stderr and "Exception ignored" not in out.stderr, out.stderr
    assert out.returncode == 0, out.stderr


def test_ctrl_c_at_any_moment_of_start_up(tmp_path: Path) -> None:
    """Real SIGINTs from outside at growing delays from 0 ms, until one comes after the end.

    Every outcome is accepted but a traceback from Nexus's code (after its entry point set its
    handler): Python may be killed before it handles signals (-SIGINT, no output) or print its
    own traceback while it starts (site, the console script's ``import re``, importing
    ``nexus_cli.__main__``) - before any Nexus code runs; or, interrupted while it sets up its
    streams or imports ``site``, end with its own "Fatal Python error" (exit 1, at times with no
    Python frame at all, so no traceback)."""
    import re
    import signal
    import time

    import nexus_cli.__main__ as entry

    source = Path(entry.__file__).read_text().splitlines()
    handler_line = next((i for i, line in enumerate(source, 1) if line == "try:"), 0)
    frame = re.compile(r'File "([^"]+)", line (\d+)')

    def from_nexus(stderr: str) -> bool:
        for path, line in frame.findall(stderr):
            here = Path(path)
            if here.parent.name != "nexus_cli" or here.name == "__init__.py":
                continue
            if here.name == "__main__.py" and int(line) < handler_line:
                continue
            return True
        return False

    delay = 0.0
    while True:
        proc = subprocess.Popen(
            [_console_script(), "--version"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
        assert not from_nexus(stderr), (delay, stderr)
        if stderr.startswith("Fatal Python error: "):  # in Python's own start (site, io)
            assert proc.returncode == 1 and "KeyboardInterrupt" in stderr, (delay, stderr)
        elif "Traceback" not in stderr:
            assert proc.returncode in (0, 130, -signal.SIGINT), (delay, stderr)
            # Click's own boundary ends the ^C line first (an empty line) when the signal
            # comes once the command runs; then one line says it was interrupted.
            said = [line for line in stderr.splitlines() if line.strip()]
            assert said in ([], ["interrupted"]), (delay, stderr)
        if proc.returncode == 0:
            assert stdout.startswith("nexus ")
            break
        delay = delay * 1.2 + 0.001  # 0, 1, 2.2, 3.6 ... ms: dense early, where Python starts
        assert delay < 30, "nexus --version never finished before the signal"


# Runs the real console script in a child Python that reports, once Python has begun to exit,
# whether the collector is on and how many objects the entry point froze.
GC_AT_EXIT = """
import atexit, gc, os, runpy, sys

def at_exit():
    os.write(2, b"gc: %d %d\\n" % (gc.isenabled(), gc.get_freeze_count()))

atexit.register(at_exit)
before = gc.get_freeze_count()
sys.argv = [sys.argv[1], *sys.argv[2:]]
os.write(2, b"before: %d\\n" % before)
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["no-such-command"]])
def test_start_up_freezes_what_the_import_made_and_keeps_the_collector_on(
    args: list[str], tmp_path: Path
) -> None:
    """The CLI's import (modules, classes) is frozen out of the collector's walks; the collector
    is on again for the command itself, whatever it ends with."""
    out = subprocess.run(
        [sys.executable, "-c", GC_AT_EXIT, _console_script(), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        env={**os.environ, "NEXUS_HOME": str(tmp_path / "home")},
    )
    said = dict(line.split(": ", 1) for line in out.stderr.splitlines() if ": " in line)
    assert said["before"] == "0", out.stderr
    enabled, frozen = (int(part) for part in said["gc"].split())
    assert enabled == 1, out.stderr
    assert frozen > 10_000, out.stderr  # Click and the CLI's modules: tens of thousands


def test_a_command_loaded_on_demand_is_frozen_too(tmp_path: Path) -> None:
    """`nexus task list --help` imports the task commands lazily: what they made is frozen too."""

    def frozen(*args: str) -> int:
        out = subprocess.run(
            [sys.executable, "-c", GC_AT_EXIT, _console_script(), *args],
            capture_output=True, text=True, cwd=tmp_path, timeout=60,
            env={**os.environ, "NEXUS_HOME": str(tmp_path / "home")},
        )  # fmt: skip
        said = dict(line.split(": ", 1) for line in out.stderr.splitlines() if ": " in line)
        enabled, count = (int(part) for part in said["gc"].split())
        assert enabled == 1, out.stderr
        return count

    assert frozen("task", "list", "--help") > frozen("--version") + 1000


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("taks", "list"), "No such command 'taks'; did you mean 'task'"),
        (("task", "lst"), "No such command 'lst'; did you mean 'list'?"),
        (("workspce",), "did you mean 'workspace'?"),
        (("zzzz",), "No such command 'zzzz'."),
    ],
)
def test_an_unknown_command_names_the_nearest(args: tuple[str, ...], said: str) -> None:
    result = run_nexus(*args)
    assert result.exit_code == 2 and said in result.stderr, result.stderr
