"""Run every ``--json`` command for real, once, and keep what each printed.

Used by ``tests/test_json_schemas.py``. Everything is real: a git repository with a commit, the
telemetry SQLite database filled by the commands themselves, tasks, personas, a bare-template
workspace (no containers, so no Docker needed), a workflow, ``nexus loop`` with the scripted agent,
an HTTP collector on 127.0.0.1 for ``sync``. GPU commands use the in-memory NVML session from
``tests/gpu/conftest.py`` (the one fake the project allows).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from nexus_cli import paths
from nexus_cli.commands import options
from tests import at_terminal
from tests.conftest import git, run_nexus
from tests.gpu.conftest import GIB, FakeNvml, Trainer, make_gpu
from tests.loop.conftest import AGENT

Outputs = dict[str, list[Any]]


class Collector:
    """A collector on 127.0.0.1 that accepts everything and keeps each request body."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                import gzip

                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                bodies.append(body)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/ingest"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Runs:
    """Runs ``nexus ARGS --json`` in the repository and files the parsed output by command."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.outputs: Outputs = {}
        self.texts: dict[str, str] = {}

    def __call__(
        self, command: str, *args: str, ok_codes: tuple[int, ...] = (0,), ndjson: bool = False
    ) -> Any:
        result = run_nexus("-C", str(self.repo), *command.split(), *args, "--json")
        assert result.exit_code in ok_codes, f"{command} {args}: {result.stderr}"
        if ndjson:  # one JSON document per line
            lines = [json.loads(line) for line in result.stdout.splitlines()]
            self.outputs.setdefault(command, []).extend(lines)
            return lines
        data = json.loads(result.stdout)
        self.outputs.setdefault(command, []).append(data)
        return data

    def answered(self, command: str, *args: str) -> Any:
        """``nexus ARGS --json`` whose question a person answers y at its terminal."""
        result = at_terminal.answered(
            ["-C", str(self.repo), *command.split(), *args, "--json"], "y", cwd=self.repo
        )
        assert result.returncode == 0, f"{command} {args}: {result.stderr}"
        data = json.loads(result.stdout)
        self.outputs.setdefault(command, []).append(data)
        return data

    def plain(self, *args: str) -> str:
        result = run_nexus("-C", str(self.repo), *args)
        assert result.exit_code == 0, f"{args}: {result.stderr}"
        return result.stdout


def _repo(root: Path) -> Path:
    repo = root / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("# json contract\n")
    (repo / "Makefile").write_text("test:\n\ttrue\n")
    git(repo, "add", "README.md", "Makefile")
    git(repo, "commit", "-q", "-m", "initial")
    return repo


def _until_past(when: str) -> None:
    """Poll until the UTC time ``when`` (a lease's expiry) has passed."""
    limit = time.monotonic() + 30
    while datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") <= when:
        assert time.monotonic() < limit, f"{when} did not pass"
        time.sleep(0.05)


def _tasks(run: Runs) -> None:
    first = run("task create", "First", "--gate", "true", "--label", "x")["id"]
    second = run("task create", "Second", "--priority", "1", "--gate", "true")["id"]
    third = run("task create", "Third", "--no-gates")["id"]
    run("task dep add", second, first)
    run("task blocked")
    run("task dep remove", second, first)
    run("task list")
    run("task ready")
    run("task split", third, "--into", "Sub A", "--into", "Sub B")
    run("task list", "--tree")
    run("task list", "--parent", third, "--since", "1d")
    run("task edit", second, "--title", "Second task", "--add-label", "y")
    run("task create", "Second tasks", "--gate", "true")
    run("task duplicates")
    run("task search", "second")
    run("task defer", second, "--until", "2999-01-01")
    run("task defer", second, "--clear")
    run("task show", first)
    run("task assign", third, "alice")
    run("task start", third)
    run("task cancel", third, "--reason", "not needed")
    run("task reopen", third)
    leased = run("task claim", third, "--lease", "1")["lease"]
    _until_past(leased["expires"])
    run("task reclaim", third)
    run("task claim", first)
    run("task note", first, "a note")
    run("task gate add", first, "test -f README.md")
    run("task gate list", first)
    _waiting_gates(run, first)
    run("task verify", first)
    run("task complete", first)
    run("task receipt", first)
    run("task history", first)
    issues = Path(__file__).parent / "tasks" / "data" / "github-issues.json"
    run("task import", str(issues), "--from", "github")
    fact = run("remember", "the gate needs README.md", "--task", first)["id"]
    run("remember", "a second fact")
    run("forget", fact)
    run("memory")
    run("prime")
    run("task claim", second)
    run("task complete", second)
    run("task reject", second, "--reason", "try again")
    run.answered("task approve", first)  # a review is approved by a person at a terminal
    run("task check-receipts", ok_codes=(0, 1))
    run("task compact", "--dry-run")  # nothing closed 90 days ago: an empty list
    assert run("task compact", "--older-than", "0")["compacted"], "the done task is compacted"
    run("task show", first)  # a compacted task


def _waiting_gates(run: Runs, other: str) -> None:
    """A task with waiting gates: in `blocked` with what they wait on, held by `complete`."""
    waits = ("--wait", "approval:bob", "--wait", "after:2999-01-01T00:00Z")
    waiting = run("task create", "Waits", "--gate", "true", *waits)["id"]
    run("task gate add", waiting, "--wait", f"task:{other}")
    run("task gate list", waiting)
    run("task blocked")
    run("task start", waiting)
    run("task complete", waiting, ok_codes=(3,))
    run("task cancel", waiting, "--reason", "shown")


def _personas(run: Runs) -> None:
    run("persona list")
    run("persona show", "backend")
    run("persona add", "backend")
    run("persona add", "testing", "--dry-run")
    run("persona switch", "developer")
    run("persona add", "testing")  # no levels: its level is null
    run("persona current")
    run("persona upgrade")
    run("persona remove", "developer")
    run("persona export", "testing", "--plugin", "exported-plugin")
    run("persona export", "testing", "developer", "--marketplace", "exported-market")
    run("mcp install", "--client", "claude", "--print")
    run("mcp install", "--client", "cursor")
    run("mcp uninstall", "--client", "cursor")
    run("hooks install", "--client", "claude")
    run("hooks uninstall", "--client", "claude")


def _workspaces(run: Runs, root: Path) -> None:
    (root / ".devcontainer").mkdir()
    (root / ".devcontainer" / "devcontainer.json").write_text(
        '{"image": "busybox", "forwardPorts": [3000], "customizations": {}}'
    )
    run("template import", ".devcontainer/devcontainer.json")
    run("template list")
    run("template show", "bare")
    run("template show", "python-postgres")
    run("workspace create", "alpha", "--template", "bare", "--host-port", "web")
    run("workspace list")
    run("workspace status", "alpha")
    run("workspace ports", "alpha")
    run("workspace env", "alpha")
    run("workspace hooks")
    run("workspace up", "alpha")
    run("workspace down", "alpha")
    run("workspace sync", "alpha")
    run("workspace repair")
    run("workspace delete", "alpha", "--force")
    run("workspace create", "beta", "--template", "bare")
    run("workspace finish", "beta")
    run("workspace create", "gamma", "--template", "bare")
    run("workspace create", "delta", "epsilon", "--template", "bare")
    queued = run("task create", "Queued", "--gate", "true", "--workspace", "gamma")["id"]
    run("task start", queued)
    run("task complete", queued)
    run("queue add", queued)
    run("queue list")
    run("queue remove", queued)
    run("queue add", queued)
    run("queue run", ok_codes=(0, 3))
    run("fleet run", "--agents", "1", "--agent", "true", ok_codes=(0, 1))
    run("fleet status")


def _workflows(run: Runs, monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    run("workflow list")
    run("workflow show", "package-release")
    run("workflow run", "package-release", "--var", "version=1.2.3")
    # Gates from a committed workflow wait for approval: the person trusts these in their config.
    config = root / "nexus-config"
    config.mkdir()
    (config / "trust.yaml").write_text(
        "rules:\n  - project: '*'\n    commands:\n      - make test\n"
        "      - 'grep -qF -- * CHANGELOG.md'\n      - 'git rev-parse -q --verify refs/tags/v*'\n"
    )
    monkeypatch.setenv("NEXUS_CONFIG_HOME", str(config))
    run("task gate list", run("task list", "--label", "workflow:package-release")[0]["id"])
    monkeypatch.setenv("SCRIPTED_AGENT_LOG", str(root / "agent-log"))
    run("loop", "--agent", AGENT, "--max-iterations", "3", ndjson=True)


def _gpu(run: Runs, monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    from nexus_cli.gpu import nvml
    from nexus_cli.gpu.model import GpuProcessReading

    ckpt = root / "ckpts"
    cwd = root / "trainer"
    cwd.mkdir()
    trainer_py = Path(__file__).resolve().parent / "gpu" / "trainer.py"
    proc = subprocess.Popen(
        [sys.executable, str(trainer_py), "--dir", str(ckpt)],
        cwd=cwd,
        start_new_session=True,
        env={**os.environ, "RANK": "1", "WORLD_SIZE": "2", "MASTER_ADDR": "node0"},
    )
    trainer = Trainer(proc, ckpt, cwd)
    try:
        trainer.wait_for_checkpoints(2)
        reading = GpuProcessReading(trainer.pid, "0", 7 * GIB, ["compute"])
        fake = FakeNvml([make_gpu("0"), make_gpu("1", utilization_pct=0)], {"0": [reading]})
        monkeypatch.setattr(nvml, "connect", lambda: fake)
        run("gpu status")
        run("gpu processes")
        run("gpu monitor", "--once")
        run("gpu impact", str(trainer.pid))
        run("gpu impact", str(trainer.pid), "--action", "suspend", "--yes")  # action_result
        run("gpu impact", str(trainer.pid), "--action", "resume", "--yes")
        run("gpu ghosts")
        run("gpu pick")
        run("gpu wait", "--json", "--", "true")  # `--json` is added after CMD too: true ignores it
        run("gpu stop", str(trainer.pid), "--grace", "10")
    finally:
        proc.kill()
        proc.wait()


def _agent_logs(repo: Path) -> None:
    """A Claude Code transcript of a session in the repository: one response with usage, of a
    priced model and of one without a price."""
    folder = Path(os.environ["HOME"]) / ".claude" / "projects" / "-repo"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    lines = [
        {
            "type": "assistant",
            "sessionId": "json-contract",
            "cwd": str(repo),
            "timestamp": stamp,
            "requestId": f"req_{n}",
            "message": {
                "id": f"msg_{n}",
                "model": model,
                "usage": {"input_tokens": 5, "output_tokens": 7},
            },
        }
        for n, model in enumerate(("claude-sonnet-4-5", "a-model-without-a-price"))
    ]
    (folder / "session.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))


def _telemetry(run: Runs) -> Collector:
    for _ in range(3):  # a recurring error, so that insights finds a pattern
        assert run_nexus("-C", str(run.repo), "task", "show", "nx-zzzz").exit_code != 0
    run("insights")
    journal = paths.nexus_home() / paths.TELEMETRY_JOURNAL
    journal.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(journal / "events", "ab") as fh:  # a record the fold puts aside, reported below
        fh.write(b"\x1enot a record\n")
    run("telemetry status")
    run("telemetry rebuild")
    run("stats")
    run("stats", "--since", "7d")
    run("stats", "--gpu")
    run("stats", "--tasks", "--gates", "--workflows")
    _agent_logs(run.repo)
    run("telemetry ingest", "claude")
    run("stats", "--cost")
    run("dashboard")
    run("doctor", ok_codes=(0, 1))
    run("doctor", "--fix", ok_codes=(0, 1))
    collector = Collector()
    run.plain("sync", "setup", collector.url, "--protocol", "json")
    run("sync status")
    run("sync now")
    run("sync status")
    run("telemetry status")  # now with a destination
    return collector


@contextmanager
def every_json_command(root: Path) -> Iterator[tuple[Outputs, Runs, Collector]]:
    """Run every ``--json`` command in a fresh home and repository under ``root``."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.chdir(os.getcwd())  # `nexus -C` changes this process's folder: restored after
        home = root / "home"
        home.mkdir()
        for name, value in {
            "HOME": home,
            "NEXUS_HOME": home / "nexus-home",
            "XDG_CONFIG_HOME": home / ".config",
            "XDG_DATA_HOME": home / ".local" / "share",
            "NEXUS_AGENT": "alice",
            "GIT_AUTHOR_NAME": "Nexus Test",
            "GIT_AUTHOR_EMAIL": "test@example.invalid",
            "GIT_COMMITTER_NAME": "Nexus Test",
            "GIT_COMMITTER_EMAIL": "test@example.invalid",
        }.items():
            monkeypatch.setenv(name, str(value))
        for name in ("NEXUS_TELEMETRY_DISABLED", "DO_NOT_TRACK", "NEXUS_SESSION_ID", "NO_COLOR"):
            monkeypatch.delenv(name, raising=False)
        repo = _repo(root)
        run = Runs(repo)
        run("version")
        run("init")
        config = repo / ".nexus" / "config.yaml"  # a second `tasks:` key would be an error
        config.write_text(
            config.read_text().replace("require_review: false", "require_review: true")
        )
        with monkeypatch.context() as at_terminal:  # `task gate add` typed by a person
            at_terminal.setattr(options, "stdin_is_terminal", lambda: True)
            _tasks(run)
        _personas(run)
        _workspaces(run, repo)
        _workflows(run, monkeypatch, root)
        _gpu(run, monkeypatch, root)
        collector = _telemetry(run)
        for name, args in {
            "export": ["--table", "all"],
            "export-events": [],
            "export-ndjson": ["--format", "ndjson", "--table", "all"],
        }.items():
            run.texts[name] = run.plain("--no-telemetry", "export", *args)
        run.texts["insights-report"] = run.plain(
            "--no-telemetry", "insights", "--report", "--format", "json"
        )
        try:
            yield run.outputs, run, collector
        finally:
            collector.close()
