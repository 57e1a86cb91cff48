"""`nexus telemetry ingest claude|codex`: real transcripts in a real workspace worktree, a real
telemetry.db, attributed to the task claimed there; incremental and untrusting."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from nexus_cli import paths
from nexus_cli.telemetry.agents.records import Hasher
from tests.conftest import git, run_nexus
from tests.tasks.conftest import new_task, ok

FIXTURE = Path(__file__).parent / "data" / "claude-session.jsonl"
SESSION = "5f0c8a4e-1d2b-4c3a-9e8f-7a6b5c4d3e2f"
# The fixture's two API responses: the first is written twice (two content blocks), its usage
# repeated with the output count growing; only its largest counts are kept.
FIRST = (1200, 250, 3000, 10000)
SECOND = (300, 60, 0, 13000)
SECRETS = (
    "SECRET-PROMPT-TEXT",
    "SECRET-THINKING-TEXT",
    "SECRET-FILE-CONTENT",
    "SECRET-TOOL-OUTPUT",
    "SECRET-ANSWER-TEXT",
    SESSION,
)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def transcript(cwd: Path, start: datetime, lines: slice = slice(None)) -> str:
    """The hand-written fixture with its folder, session and times filled in."""
    text = FIXTURE.read_text()
    for n in range(1, 5):
        text = text.replace(f"@T{n}@", _stamp(start + timedelta(seconds=10 * n)))
    text = text.replace("@CWD@", str(cwd)).replace("@SESSION@", SESSION)
    return "".join(text.splitlines(keepends=True)[lines])


def claude_folder(home: Path, cwd: Path) -> Path:
    folder = home / ".claude" / "projects" / str(cwd).replace("/", "-")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def claimed(tasks_project: Path) -> tuple[str, Path]:
    """A task created for workspace ws1 and claimed, and ws1's worktree."""
    task = new_task("Fix the failing test", "--workspace", "ws1", "--label", "persona:reviewer")
    ok("task", "claim", task)
    worktree = tasks_project / ".nexus" / "worktrees" / "ws1"
    git(tasks_project, "worktree", "add", "-q", "-b", "ws1", str(worktree))
    return task, worktree


def usage_rows() -> list[tuple[Any, ...]]:
    """The stored rows, the task as its id where the salted hash is one of ``known``."""
    with sqlite3.connect(paths.telemetry_db_str()) as conn:
        return conn.execute(
            "SELECT task_hash, model, input_tokens, output_tokens, cache_write_tokens,"
            " cache_read_tokens FROM agent_usage ORDER BY at_ms"
        ).fetchall()


def hashed(task: str) -> str:
    """How a task id is stored: its salted hash, never the id."""
    return Hasher()(task, kind="task")


def cost_now() -> dict[str, Any]:
    """``stats --cost --json`` for a window that includes the next minutes (the fixture's
    responses come seconds after the claim made just before)."""
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d")
    result = run_nexus("stats", "--cost", "--since", "1d", "--until", tomorrow, "--json")
    assert result.exit_code == 0, result.stderr
    return dict(result.json()["cost"])


def ingest(*args: str) -> dict[str, Any]:
    result = run_nexus("telemetry", "ingest", *args, "--json")
    assert result.exit_code == 0, result.stderr
    return dict(result.json())


def test_a_transcript_in_the_worktree_is_attributed_to_its_task(
    claimed: tuple[str, Path], isolated_home: Path
) -> None:
    task, worktree = claimed
    log = claude_folder(isolated_home, worktree) / f"{SESSION}.jsonl"
    log.write_text(transcript(worktree, datetime.now(UTC)))
    found = ingest("claude")
    assert (found["files"], found["new_records"], found["attributed"]) == (1, 2, 2)
    assert found["tasks"] == [task] and found["bad_lines"] == 0
    model = "claude-sonnet-4-5-20250929"
    assert usage_rows() == [(hashed(task), model, *FIRST), (hashed(task), model, *SECOND)]


def test_re_ingesting_counts_nothing_twice_and_reads_only_what_was_appended(
    claimed: tuple[str, Path], isolated_home: Path
) -> None:
    task, worktree = claimed
    log = claude_folder(isolated_home, worktree) / f"{SESSION}.jsonl"
    start = datetime.now(UTC)
    full = transcript(worktree, start)
    cut = full.rindex("\n", 0, len(full) - 1) + 1  # the last line ...
    log.write_text(full[: cut + 40])  # ... half written: not read yet
    first = ingest("claude")
    assert (first["lines"], first["new_records"], first["bad_lines"]) == (4, 1, 0)
    again = ingest("claude")
    assert (again["lines"], again["new_records"]) == (0, 0)
    with log.open("a") as out:
        out.write(full[cut + 40 :])
    last = ingest("claude")
    assert (last["lines"], last["new_records"]) == (1, 1)
    assert len(usage_rows()) == 2
    # The file replaced by a copy (new inode), read from its start: still no double count.
    copy = log.with_suffix(".tmp")
    copy.write_text(full)
    os.replace(copy, log)
    replaced = ingest("claude")
    assert (replaced["lines"], replaced["new_records"]) == (5, 0)
    cost = cost_now()
    assert [t["task_id"] for t in cost["tasks"]] == [task]
    assert cost["tasks"][0]["tokens"] == sum(FIRST) + sum(SECOND)


def test_garbage_lines_are_counted_and_skipped(
    claimed: tuple[str, Path], isolated_home: Path
) -> None:
    _, worktree = claimed
    log = claude_folder(isolated_home, worktree) / f"{SESSION}.jsonl"
    good = [x.encode() for x in transcript(worktree, datetime.now(UTC)).splitlines(True)]
    bad = [
        b'not json at all, "usage"\n',
        b'{"type": "assistant", "usage": NaN}\n',
        b'{"type":"assistant","sessionId":"s","timestamp":"2026-01-01T00:00:00Z",'
        b'"message":{"usage":{"input_tokens":-5}}}\n',
        b'{"usage": 1, "usage": 2}\n',
        b'{"type": "user", "usage": "\xff\xfe not UTF-8"}\n',
        b"[1, 2, 3]\n",  # no usage in it: not even parsed
        b"{broken, and no word of interest\n",  # likewise: skipped unread, not counted
    ]
    log.write_bytes(b"".join([good[0], *bad[:4], good[1], good[2], *bad[4:], *good[3:]]))
    found = ingest("claude")
    assert (found["new_records"], found["bad_lines"], found["lines"]) == (2, 5, 12)


def test_a_line_too_long_is_skipped_whole(
    claimed: tuple[str, Path], isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nexus_cli.telemetry.agents import logfile

    monkeypatch.setattr(logfile, "MAX_LINE_BYTES", 4096)
    monkeypatch.setattr(logfile, "CHUNK", 1024)
    _, worktree = claimed
    log = claude_folder(isolated_home, worktree) / f"{SESSION}.jsonl"
    lines = transcript(worktree, datetime.now(UTC)).splitlines(keepends=True)
    huge = json.dumps({"type": "user", "message": {"content": "x" * 20000}}) + "\n"
    log.write_text("".join([lines[0], huge, *lines[1:]]))
    found = ingest("claude")
    assert (found["oversized_lines"], found["new_records"]) == (1, 2)


def test_no_prompt_text_path_session_or_task_id_reaches_the_database(
    claimed: tuple[str, Path], isolated_home: Path
) -> None:
    task, worktree = claimed
    log = claude_folder(isolated_home, worktree) / f"{SESSION}.jsonl"
    log.write_text(transcript(worktree, datetime.now(UTC)))
    ingest("claude")
    run_nexus("stats", "--cost")
    database = Path(paths.telemetry_db_str())
    stored = b"".join(
        p.read_bytes() for p in database.parent.glob(database.name + "*") if p.is_file()
    )
    for secret in (*SECRETS, str(worktree), str(log), task):
        assert secret.encode() not in stored, secret


def test_usage_outside_the_claim_or_any_worktree_is_unattributed(
    claimed: tuple[str, Path], isolated_home: Path, tmp_path: Path
) -> None:
    _, worktree = claimed
    before = datetime.now(UTC) - timedelta(hours=2)  # the task was not claimed yet
    (claude_folder(isolated_home, worktree) / "early.jsonl").write_text(
        transcript(worktree, before).replace(SESSION, "early-session").replace("msg_", "early_")
    )
    elsewhere = tmp_path / "not-a-project"
    elsewhere.mkdir()
    (claude_folder(isolated_home, elsewhere) / "other.jsonl").write_text(
        transcript(elsewhere, datetime.now(UTC)).replace(SESSION, "other").replace("msg_", "o_")
    )
    found = ingest("claude")
    assert (found["new_records"], found["attributed"], found["tasks"]) == (4, 0, [])
    # outside a project, stats --cost shows every usage as unattributed
    os.chdir(tmp_path)
    cost = cost_now()
    assert cost["tasks"] == [] and cost["unattributed"]["tokens"] == 2 * (sum(FIRST) + sum(SECOND))


def test_a_symbolic_link_is_not_followed(claimed: tuple[str, Path], isolated_home: Path) -> None:
    _, worktree = claimed
    real = isolated_home / "elsewhere.jsonl"
    real.write_text(transcript(worktree, datetime.now(UTC)))
    (claude_folder(isolated_home, worktree) / f"{SESSION}.jsonl").symlink_to(real)
    found = ingest("claude")
    assert (found["files"], found["new_records"]) == (0, 0)


def test_a_missing_path_is_one_line_and_exit_2(tasks_project: Path, tmp_path: Path) -> None:
    result = run_nexus("telemetry", "ingest", "claude", "--path", str(tmp_path / "nope"))
    assert result.exit_code == 2 and "is not a folder" in result.stderr
    assert "Traceback" not in result.stderr


def test_codex_token_counts_are_ingested_and_attributed(
    claimed: tuple[str, Path], isolated_home: Path
) -> None:
    task, worktree = claimed
    now = datetime.now(UTC)
    day = isolated_home / ".codex" / "sessions" / now.strftime("%Y/%m/%d")
    day.mkdir(parents=True)
    lines = [
        {"type": "session_meta", "payload": {"id": "c0dex-1", "cwd": str(worktree)}},
        {"type": "turn_context", "payload": {"model": "gpt-5-codex", "cwd": str(worktree)}},
        {"type": "response_item", "payload": {"type": "message", "content": "SECRET-PROMPT-TEXT"}},
        {"type": "event_msg", "payload": {"type": "token_count", "info": None}},
        *[
            {
                "type": "event_msg",
                "payload": {
                    "type": "token_count",
                    "info": {
                        "last_token_usage": {
                            "input_tokens": 1000,
                            "cached_input_tokens": 600,
                            "output_tokens": 50,
                            "reasoning_output_tokens": 20,
                        },
                        "total_token_usage": {
                            "input_tokens": 1000 * n,
                            "cached_input_tokens": 600 * n,
                            "output_tokens": 50 * n,
                        },
                    },
                },
            }
            for n in (1, 1, 2)  # the same event written twice counts once
        ],
    ]
    for i, line in enumerate(lines):
        line["timestamp"] = _stamp(now + timedelta(seconds=i))
    (day / "rollout-1.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    found = ingest("codex")
    assert (found["new_records"], found["tasks"]) == (2, [task])
    assert usage_rows() == [(hashed(task), "gpt-5-codex", 400, 50, 0, 600)] * 2
    assert ingest("codex")["new_records"] == 0


def test_the_command_says_what_it_read_in_one_line(
    claimed: tuple[str, Path], isolated_home: Path
) -> None:
    _, worktree = claimed
    empty = run_nexus("telemetry", "ingest", "claude")
    assert empty.exit_code == 0 and "no claude logs in" in empty.stderr
    log = claude_folder(isolated_home, worktree) / f"{SESSION}.jsonl"
    log.write_text(transcript(worktree, datetime.now(UTC)) + 'not json, "usage" in it\n')
    result = run_nexus("telemetry", "ingest", "claude")
    assert result.exit_code == 0 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "read 1 file: 2 new usage records (2 attributed to 1 task, 0 unattributed)",
        "skipped 1 line: not valid JSON or usage",
    ]
