"""What `nexus mcp` runs (commands/mcp_serve.py), and `nexus mcp install` without the SDK: the
serving module, which imports the SDK, is loaded only to serve."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_process

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"},
    },
}


def test_nexus_mcp_serves_over_stdio(project: Path) -> None:
    result = run_process("mcp", cwd=project, input=json.dumps(INITIALIZE) + "\n", timeout=60)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.splitlines()[0])
    assert answer["id"] == 1 and answer["result"]["serverInfo"]["name"]


def test_install_works_without_the_sdk(project: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "mcp.py").write_text("raise ImportError('not installed', name='mcp')\n")
    result = run_process(
        "mcp",
        "install",
        "--client",
        "claude",
        "--print",
        cwd=project,
        env={"PYTHONPATH": str(blocker)},
    )
    assert result.returncode == 0, result.stderr
    assert "would create" in result.stderr
