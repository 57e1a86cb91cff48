from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_nexus


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_prints_click_completion_script(shell: str) -> None:
    result = run_nexus("completion", shell)
    assert result.exit_code == 0
    assert "_NEXUS_COMPLETE" in result.stdout


def test_install_is_idempotent_and_reversible(isolated_home: Path) -> None:
    rc = isolated_home / ".bashrc"
    rc.write_text("export PS1='$ '\n")
    assert run_nexus("completion", "bash", "--install").exit_code == 0
    once = rc.read_text()
    assert "_NEXUS_COMPLETE=bash_source nexus" in once
    assert run_nexus("completion", "bash", "--install").exit_code == 0
    assert rc.read_text() == once
    assert run_nexus("completion", "bash", "--uninstall").exit_code == 0
    assert rc.read_text() == "export PS1='$ '\n"


def test_fish_install_creates_config(isolated_home: Path) -> None:
    assert run_nexus("completion", "fish", "--install").exit_code == 0
    assert "fish_source" in (isolated_home / ".config" / "fish" / "config.fish").read_text()


def test_unknown_shell_is_a_usage_error() -> None:
    result = run_nexus("completion", "tcsh")
    assert result.exit_code == 2
    assert "tcsh" in result.stderr
