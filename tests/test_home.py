from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import platformdirs
import pytest

from nexus_cli import home
from nexus_cli.errors import StateError, UsageError


def test_nexus_home_str_follows_xdg_data_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("NEXUS_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert home.nexus_home_str() == platformdirs.user_data_dir("nexus")
    if sys.platform.startswith("linux"):
        assert home.nexus_home_str() == str(tmp_path / "data" / "nexus")


def test_nexus_home_prefers_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NEXUS_HOME", str(tmp_path))
    assert home.nexus_home_str() == str(tmp_path)


@pytest.mark.parametrize("nexus_home_set", [True, False])
def test_platformdirs_is_loaded_only_without_nexus_home(
    tmp_path: Path, nexus_home_set: bool
) -> None:
    """It loads tempfile, shutil and pathlib: a home named by NEXUS_HOME needs none of them."""
    env = {k: v for k, v in os.environ.items() if k != "NEXUS_HOME"}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    if nexus_home_set:
        env["NEXUS_HOME"] = str(tmp_path / "home")
    code = "import sys; from nexus_cli import home; home.nexus_home_str(); print('platformdirs' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == str(not nexus_home_set), out


def test_ensure_private_dir_makes_a_0700_folder(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b"
    home.ensure_private_dir(target)
    assert target.is_dir()
    assert target.stat().st_mode & 0o777 == 0o700


def test_a_file_at_nexus_home_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("NEXUS_HOME", str(blocker))
    with pytest.raises(UsageError, match=r"NEXUS_HOME .* is not a folder"):
        home.ensure_private_dir(blocker / "telemetry-journal")


def test_a_file_in_the_way_elsewhere_is_a_state_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StateError, match="a file is in the way"):
        home.ensure_private_dir(blocker / "sub")
