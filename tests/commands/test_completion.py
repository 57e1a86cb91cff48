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


def names_for_test(incomplete: str) -> list[str]:
    return ["feature-auth", "feature-payment", "bugfix-login"]


def test_dynamic_completer_filters_and_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    from nexus_cli import completion

    monkeypatch.setitem(completion.SOURCES, "demo", "tests.commands.test_completion:names_for_test")
    monkeypatch.setitem(completion.SOURCES, "broken", "no.such.module:nothing")
    complete = completion.completer("demo")
    assert [item.value for item in complete(None, None, "feat")] == [
        "feature-auth",
        "feature-payment",
    ]
    assert completion.candidates("broken", "") == []
    assert completion.candidates("unknown-kind", "") == []


def test_shell_completion_protocol_completes_commands(tmp_path: Path) -> None:
    import os

    from tests.conftest import run_process

    out = run_process(
        env={"_NEXUS_COMPLETE": "bash_complete", "COMP_WORDS": "nexus doc", "COMP_CWORD": "1"},
        cwd=tmp_path,
    )
    assert out.returncode == 0
    assert "doctor" in out.stdout
    assert os.environ.get("_NEXUS_COMPLETE") is None


def test_completion_requests_are_not_recorded(tmp_path: Path) -> None:
    from nexus_cli import paths
    from tests.conftest import run_process

    run_process(
        env={"_NEXUS_COMPLETE": "bash_complete", "COMP_WORDS": "nexus ", "COMP_CWORD": "1"},
        cwd=tmp_path,
    )
    assert not paths.telemetry_db_path().exists()
    assert not (paths.nexus_home() / paths.TELEMETRY_JOURNAL).exists()
