from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_nexus


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_prints_click_completion_script(shell: str) -> None:
    result = run_nexus("completion", shell)
    assert result.exit_code == 0
    assert "_NEXUS_COMPLETE" in result.stdout


OLD_EVAL_BLOCK = (
    '# >>> nexus:completion >>>\neval "$(_NEXUS_COMPLETE=bash_source nexus)"\n'
    "# <<< nexus:completion <<<\n"
)


def test_bash_install_writes_a_lazily_loaded_file_and_leaves_bashrc_alone(
    isolated_home: Path,
) -> None:
    rc = isolated_home / ".bashrc"
    rc.write_text("export PS1='$ '\n")
    script = isolated_home / ".local/share/bash-completion/completions/nexus"
    first = run_nexus("completion", "bash", "--install")
    assert first.exit_code == 0, first.stderr
    assert f"wrote {script}" in first.stderr
    assert f"in this one: source {script}" in first.stderr
    assert script.read_text().startswith("# Nexus completion for bash")
    assert "command -v" in script.read_text()
    assert rc.read_text() == "export PS1='$ '\n"
    again = run_nexus("completion", "bash", "--install")
    assert again.exit_code == 0 and "nothing to change" in again.stderr
    removed = run_nexus("completion", "bash", "--uninstall")
    assert removed.exit_code == 0 and f"removed {script}" in removed.stderr
    assert not script.exists() and rc.read_text() == "export PS1='$ '\n"


def test_bash_completion_user_dir_is_respected(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BASH_COMPLETION_USER_DIR", str(isolated_home / "bc"))
    assert run_nexus("completion", "bash", "--install").exit_code == 0
    assert (isolated_home / "bc/completions/nexus").is_file()


@pytest.mark.parametrize(
    ("shell", "rc"), [("bash", ".bashrc"), ("zsh", ".zshrc"), ("fish", ".config/fish/config.fish")]
)
def test_install_takes_out_the_old_eval_line(isolated_home: Path, shell: str, rc: str) -> None:
    path = isolated_home / rc
    path.parent.mkdir(parents=True, exist_ok=True)
    old = OLD_EVAL_BLOCK.replace("bash_source", f"{shell}_source")
    path.write_text("alias ll='ls -l'\n\n" + old)
    result = run_nexus("completion", shell, "--install")
    assert result.exit_code == 0, result.stderr
    assert f"removed the old eval line from {path}" in result.stderr
    assert "_NEXUS_COMPLETE" not in path.read_text()
    if shell != "zsh":
        assert path.read_text() == "alias ll='ls -l'\n"


def test_zsh_install_adds_one_fpath_block_and_uninstall_restores_zshrc(
    isolated_home: Path,
) -> None:
    rc = isolated_home / ".zshrc"
    rc.write_text("autoload -Uz compinit && compinit\n")
    assert run_nexus("completion", "zsh", "--install").exit_code == 0
    text = rc.read_text()
    assert text.count("fpath=(") == 1 and f"fpath=({isolated_home}/.zfunc $fpath)" in text
    assert "$(" not in text and "_NEXUS_COMPLETE" not in text  # nothing runs nexus at start
    assert (isolated_home / ".zfunc/_nexus").read_text().startswith("#compdef nexus\n")
    assert run_nexus("completion", "zsh", "--install").exit_code == 0
    assert rc.read_text() == text
    assert run_nexus("completion", "zsh", "--uninstall").exit_code == 0
    assert rc.read_text() == "autoload -Uz compinit && compinit\n"
    assert not (isolated_home / ".zfunc/_nexus").exists()


def test_a_symlinked_zshrc_stays_a_symlink(isolated_home: Path) -> None:
    dotfiles = isolated_home / "dotfiles"
    dotfiles.mkdir()
    (dotfiles / "zshrc").write_text("PS1='%% '\n")
    (isolated_home / ".zshrc").symlink_to(dotfiles / "zshrc")
    assert run_nexus("completion", "zsh", "--install").exit_code == 0
    assert (isolated_home / ".zshrc").is_symlink()
    assert "fpath=(" in (dotfiles / "zshrc").read_text()


def test_fish_install_writes_the_completions_file_only(isolated_home: Path) -> None:
    assert run_nexus("completion", "fish", "--install").exit_code == 0
    script = isolated_home / ".config/fish/completions/nexus.fish"
    assert "type -q nexus; or return" in script.read_text()
    assert not (isolated_home / ".config/fish/config.fish").exists()


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_a_file_nexus_did_not_write_is_left_alone(isolated_home: Path, shell: str) -> None:
    from nexus_cli.completion_install import script_path

    path = script_path(shell, isolated_home)
    path.parent.mkdir(parents=True)
    path.write_text("# my own completion\n")
    result = run_nexus("completion", shell, "--install")
    assert result.exit_code == 1 and "was not written by Nexus" in result.stderr
    assert run_nexus("completion", shell, "--uninstall").exit_code == 0
    assert path.read_text() == "# my own completion\n"


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
