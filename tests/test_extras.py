"""Which command adds an optional extra, for each way Nexus gets installed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from nexus_cli import extras
from tests.conftest import REPO_ROOT, run_process


def test_this_checkout_is_an_editable_install_and_its_hint_says_pip_install_e(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(REPO_ROOT)
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    inst = extras.installation()
    if inst.method != "editable":
        pytest.skip(f"this Nexus is not installed editable ({inst.method})")
    assert Path(inst.source or "") == REPO_ROOT
    python = (
        str(Path(sys.executable).relative_to(REPO_ROOT))
        if sys.executable.startswith(str(REPO_ROOT))
        else sys.executable
    )
    assert extras.add_command("mcp") == f"{python} -m pip install -e '.[mcp]'"


def test_the_active_venv_is_named_python(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VIRTUAL_ENV", sys.prefix)
    assert extras.add_command("mcp").startswith("python -m pip install")


@pytest.mark.parametrize(
    ("prefix", "env", "method"),
    [
        (".local/share/pipx/venvs/nexus-cli", {}, "pipx"),
        (".local/pipx/venvs/nexus-cli", {}, "pipx"),
        ("custom/venvs/nexus-cli", {"PIPX_HOME": "custom"}, "pipx"),
        (".local/share/uv/tools/nexus-cli", {}, "uv"),
        ("mytools/nexus-cli", {"UV_TOOL_DIR": "mytools"}, "uv"),
    ],
)
def test_tool_installs_are_found_from_where_the_interpreter_lives(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, prefix: str, env: dict[str, str], method: str
) -> None:
    monkeypatch.delenv("PIPX_HOME", raising=False)
    monkeypatch.delenv("UV_TOOL_DIR", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, str(tmp_path / value))
    monkeypatch.setattr(sys, "prefix", str(tmp_path / prefix))
    inst = extras.installation()
    assert inst.method == method
    assert inst.tool_name == "nexus-cli"


@pytest.mark.parametrize(
    ("receipt", "method"), [("pipx_metadata.json", "pipx"), ("uv-receipt.toml", "uv")]
)
def test_tool_installs_are_found_from_their_receipt_anywhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, receipt: str, method: str
) -> None:
    """PIPX_HOME or UV_TOOL_DIR set at install time but not now: the venv's receipt tells."""
    monkeypatch.delenv("PIPX_HOME", raising=False)
    monkeypatch.delenv("UV_TOOL_DIR", raising=False)
    prefix = tmp_path / "somewhere" / "nexus-cli"
    prefix.mkdir(parents=True)
    (prefix / receipt).write_text("{}\n")
    monkeypatch.setattr(sys, "prefix", str(prefix))
    assert extras.installation().method == method


def test_commands_for_each_method(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    make = extras.Installation
    assert extras.add_command("mcp", make("pipx", "python", tool_name="nexus-cli")) == (
        "pipx inject nexus-cli 'mcp<3,>=2.3'"
    )
    assert extras.add_command("mcp", make("uv", "python", "/src/nexus", "nexus-cli", True)) == (
        "uv tool install --force --editable '/src/nexus[mcp]'"
    )
    assert extras.add_command("otlp", make("uv", "python", None, "nexus-cli")) == (
        "uv tool install --force 'nexus-cli[otlp]'"
    )
    assert extras.add_command("mcp", make("local", "python", "/src/nexus")) == (
        "python -m pip install '/src/nexus[mcp]'"
    )
    assert extras.add_command("mcp", make("index", "/opt/py/bin/python3")) == (
        "/opt/py/bin/python3 -m pip install 'nexus-cli[mcp]'"
    )
    here = make("editable", ".venv/bin/python", str(tmp_path), editable=True)
    assert extras.add_command("mcp", here) == ".venv/bin/python -m pip install -e '.[mcp]'"


def test_requirements_come_from_nexus_metadata() -> None:
    assert extras.requirements("mcp") == ["mcp<3,>=2.3"]
    assert extras.requirements("otlp") == ["opentelemetry-proto>=1.20"]
    assert extras.requirements("no-such-extra") == []


def test_installed_asks_the_import_system_without_importing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, "mcp", raising=False)
    assert extras.installed("mcp") is True
    assert "mcp" not in sys.modules
    monkeypatch.setitem(sys.modules, "mcp", None)
    assert extras.installed("mcp") is False


def test_nexus_mcp_without_the_sdk_names_the_command_for_this_install(
    project: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "mcp.py").write_text("raise ImportError('not installed', name='mcp')\n")
    result = run_process("mcp", cwd=project, env={"PYTHONPATH": str(blocker)})
    assert result.returncode == 1
    error, hint = result.stderr.splitlines()[:2]
    assert error == (
        "error: `nexus mcp` needs the MCP SDK (the optional `mcp` extra), which is not installed"
    )
    method = extras.installation().method
    expected = {"editable": "-m pip install -e ", "pipx": "pipx inject ", "uv": "uv tool install"}
    assert hint.startswith("hint: install the MCP SDK with: ")
    assert expected.get(method, "-m pip install ") in hint
