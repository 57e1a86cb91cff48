"""Shared fixtures: an isolated home for every test, real git repositories, the CLI runner."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, settings

from nexus_cli import cli as cli_module

REPO_ROOT = Path(__file__).resolve().parent.parent

# Property tests judge results, never speed: on a loaded machine (CI, a suite running beside
# another) slow example generation or a slow example must not fail them.
settings.register_profile("nexus", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("nexus")


@pytest.fixture(autouse=True)
def isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Point HOME, NEXUS_HOME and the XDG folders at temporary folders: no test touches a real home."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("NEXUS_HOME", str(home / "nexus-home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.delenv("NEXUS_CONFIG_HOME", raising=False)
    monkeypatch.delenv("NEXUS_TELEMETRY_DISABLED", raising=False)
    monkeypatch.delenv("DO_NOT_TRACK", raising=False)
    monkeypatch.delenv("NEXUS_SESSION_ID", raising=False)
    monkeypatch.delenv("NEXUS_DEBUG", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Nexus Test")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "test@example.invalid")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Nexus Test")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "test@example.invalid")
    return home


def git(cwd: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return out.stdout


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """A real git repository with one commit on `main`."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("# test repo\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-q", "-m", "initial")
    return repo


@pytest.fixture
def project(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An initialised Nexus project (the current directory)."""
    monkeypatch.chdir(git_repo)
    result = run_nexus("init")
    assert result.exit_code == 0, result.stderr
    return git_repo


@pytest.fixture
def ssh_signing_key(isolated_home: Path) -> Path:
    """A real ed25519 key without a passphrase, made by ssh-keygen in the temporary HOME, that
    git is configured (globally, in that HOME) to sign with: gpg.format ssh, user.signingkey."""
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is not installed")
    key = isolated_home / ".ssh" / "id_ed25519"
    key.parent.mkdir(mode=0o700, exist_ok=True)
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "tester", "-f", str(key)],
        check=True,
        capture_output=True,
    )
    git(isolated_home, "config", "--global", "gpg.format", "ssh")
    git(isolated_home, "config", "--global", "user.signingkey", str(key))
    return key


def fold_telemetry() -> None:
    """Fold the telemetry journal into telemetry.db, as every reader does before it reads."""
    from nexus_cli.telemetry.db import store
    from nexus_cli.telemetry.journal import file

    if file.pending():
        with store.opened():
            pass


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run_nexus(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    """Run nexus in-process through its real entry point (error boundary and recording included)."""
    runner = CliRunner()
    with runner.isolation(input=input, env=env) as outstreams:
        code = cli_module.main(list(args))
        sys.stdout.flush()
        sys.stderr.flush()
        stdout = outstreams[0].getvalue().decode()
        stderr = outstreams[1].getvalue().decode() if outstreams[1] is not None else ""
    return Result(code, stdout, stderr)


@pytest.fixture
def answering_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands that ask treat stdin as a terminal, so ``run_nexus(input="y\\n")`` answers them.

    Without it CliRunner's stdin is not a terminal and they stop with exit 4 unless ``--yes``;
    tests/commands/test_confirmation.py asks and answers in a real terminal (tmux).
    """
    from nexus_cli.commands import options

    monkeypatch.setattr(options, "stdin_is_terminal", lambda: True)


@pytest.fixture
def trust(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """``trust(*patterns)``: the person's own trust rules for these commands in every project
    (``$NEXUS_CONFIG_HOME/trust.yaml``, outside the repository), so that gates proposed by an
    agent or a workflow run without a person at a terminal (tests/tasks/test_gate_review.py)."""

    def write(*patterns: str) -> Path:
        config = isolated_home / "trust-config"
        config.mkdir(exist_ok=True)
        commands = "".join(f"      - {json.dumps(p)}\n" for p in patterns)
        path = config / "trust.yaml"
        path.write_text("rules:\n  - project: '*'\n    commands:\n" + commands)
        monkeypatch.setenv("NEXUS_CONFIG_HOME", str(config))
        return path

    return write


@pytest.fixture
def nexus() -> Any:
    return run_nexus


def nexus_exe() -> list[str]:
    """The command that runs nexus as a separate process with this interpreter."""
    return [sys.executable, "-m", "nexus_cli"]


def run_process(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    input: str | None = None,
    new_session: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run nexus in a real subprocess (with ``new_session``, without a controlling terminal,
    as an agent's shell tool or CI runs it)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [*nexus_exe(), *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
        start_new_session=new_session,
    )


def processes_marked(token: str) -> list[int]:
    """The live (not zombie) processes whose environment holds ``NEXUS_TEST_MARK=token``: what a
    test's child started, wherever it was reparented to."""
    mark = f"NEXUS_TEST_MARK={token}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fh:
                environ = fh.read().split(b"\0")
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as fh:
                state = fh.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if mark in environ and state != "Z":
            found.append(int(entry))
    return found


# --- Docker -----------------------------------------------------------------------------------

TEST_IMAGE = "nexus-test-busybox:latest"


def _docker_available() -> str | None:
    """None when a Docker engine answers, else the reason it does not."""
    try:
        import docker

        client = docker.from_env(timeout=5)
        client.ping()
        client.close()
    except Exception as exc:
        return f"no Docker engine: {type(exc).__name__}: {exc}"
    return None


_DOCKER_REASON: list[str | None] = []


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Docker-marked tests skip without an engine, and fail instead when NEXUS_REQUIRE_DOCKER=1."""
    if "docker" not in item.keywords:
        return
    if not _DOCKER_REASON:
        _DOCKER_REASON.append(_docker_available())
    reason = _DOCKER_REASON[0]
    if reason is None:
        return
    if os.environ.get("NEXUS_REQUIRE_DOCKER") == "1":
        pytest.fail(f"NEXUS_REQUIRE_DOCKER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def test_image() -> str:
    """The local busybox test image, built FROM scratch (no registry is reachable)."""
    import docker

    client = docker.from_env()
    try:
        client.images.get(TEST_IMAGE)
        return TEST_IMAGE
    except docker.errors.ImageNotFound:
        pass
    busybox = shutil.which("busybox")
    if busybox is None:
        pytest.fail("the test image needs a static busybox (apt install busybox-static)")
    build = REPO_ROOT / "tests" / "image"
    import tempfile

    with tempfile.TemporaryDirectory() as ctx:
        shutil.copy(build / "Dockerfile", ctx)
        shutil.copy(busybox, Path(ctx) / "busybox")
        client.images.build(path=ctx, tag=TEST_IMAGE, rm=True)
    return TEST_IMAGE


@pytest.fixture
def docker_client() -> Iterator[Any]:
    import docker

    client = docker.from_env()
    yield client
    client.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say plainly how the Docker-marked tests went, so a CI log shows they really ran."""
    outcomes: dict[str, int] = {}
    for outcome in ("passed", "failed", "skipped", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            if "docker" in getattr(report, "keywords", {}) and report.when in ("call", "setup"):
                if outcome == "passed" and report.when != "call":
                    continue
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
    if outcomes:
        summary = ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items()))
        terminalreporter.write_line(f"docker-marked tests against the real engine: {summary}")


def pytest_configure(config: pytest.Config) -> None:
    """Ctrl-C and a hang-up reach the processes the tests start, however the suite itself was
    started.

    A suite started in the background of a non-interactive shell (a CI script, `cmd &`) inherits
    SIGINT ignored, and one started under `nohup` SIGHUP, and so would every process it starts:
    the tests that send them (as Ctrl-C and a closed terminal do) would then see them ignored. A
    handler here is reset to the default in each child; the suite itself still ignores a
    hang-up, as `nohup` asked."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGHUP) is signal.SIG_IGN:
        signal.signal(signal.SIGHUP, _hang_up_ignored)


def _hang_up_ignored(signum: int, frame: object) -> None:
    """SIGHUP in the suite's own process, where `nohup` had it ignored: still nothing."""


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`--dist loadgroup`), the tests that use the Docker engine run one at a
    time on one worker: each test's own NEXUS_HOME has its own port table, so two side by side
    could pick the same free host port between the check and the bind; and the second engine of
    tests/workspaces/test_remote.py (one per worker session, on one fixed port) starts once.

    ``tryfirst``: xdist's worker turns each ``xdist_group`` mark into the test's group in its own
    hook of this name; a mark added after it would group nothing."""
    for item in items:
        if item.get_closest_marker("docker") is not None:
            item.add_marker(pytest.mark.xdist_group("docker"))
